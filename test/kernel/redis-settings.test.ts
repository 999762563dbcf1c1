import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSettings, SettingsError } from '../../shared/kernel/settings';

describe('settings: Redis credential', () => {
  it('defaults to the key: credentials, if any, ride in REDIS_URL as before', () => {
    assert.equal(loadSettings({}).cache.redisCredential, 'key');
    const settings = loadSettings({ REDIS_URL: 'rediss://:hush@farmacias.redis.cache.windows.net:6380' });
    assert.deepEqual([settings.cache.redisUrl, settings.cache.redisCredential], ['rediss://:hush@farmacias.redis.cache.windows.net:6380', 'key']);
    assert.equal(loadSettings({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CREDENTIAL: 'key' }).cache.redisCredential, 'key');
  });

  it('reads managed identity with an Azure Managed Redis URL and the identity client id', () => {
    const clientId = '7f0c4c52-33c9-4b1c-9a43-2f3b7a0c9d11';
    const settings = loadSettings({ REDIS_URL: 'rediss://farmacias.westeurope.redis.azure.net:10000', REDIS_CREDENTIAL: 'managedidentity', AZURE_CLIENT_ID: clientId });
    assert.equal(settings.cache.redisUrl, 'rediss://farmacias.westeurope.redis.azure.net:10000');
    assert.equal(settings.cache.redisCredential, 'managedidentity');
    assert.equal(settings.managedIdentityClientId, clientId);
  });

  it('managed identity requires REDIS_URL', () => {
    assert.throws(
      () => loadSettings({ REDIS_CREDENTIAL: 'managedidentity' }),
      (error: Error) => error instanceof SettingsError && /REDIS_URL/.test(error.message),
    );
  });

  it('managed identity refuses a REDIS_URL with a password or a user, naming the setting, never its value', () => {
    for (const url of ['rediss://:hush-secret@farmacias.westeurope.redis.azure.net:10000', 'rediss://someone:hush-secret@farmacias.westeurope.redis.azure.net:10000', 'rediss://someone@farmacias.westeurope.redis.azure.net:10000']) {
      assert.throws(
        () => loadSettings({ REDIS_URL: url, REDIS_CREDENTIAL: 'managedidentity' }),
        (error: Error) => error instanceof SettingsError && /REDIS_URL/.test(error.message) && !/hush|someone|farmacias\.westeurope/.test(error.message),
        url,
      );
    }
  });

  it('REDIS_COUNTERS_URL: read as REDIS_URL is, and refused with credentials in it under managed identity, naming it alone', () => {
    assert.equal(loadSettings({}).cache.redisCountersUrl, undefined);
    const base = { REDIS_URL: 'rediss://farmacias.westeurope.redis.azure.net:10000', REDIS_CREDENTIAL: 'managedidentity' };
    const counters = 'rediss://farmacias-counters.westeurope.redis.azure.net:10000';
    assert.equal(loadSettings({ ...base, REDIS_COUNTERS_URL: counters }).cache.redisCountersUrl, counters);
    assert.throws(
      () => loadSettings({ ...base, REDIS_COUNTERS_URL: 'rediss://someone:hush-secret@farmacias-counters.westeurope.redis.azure.net:10000' }),
      (error: Error) => error instanceof SettingsError && /REDIS_COUNTERS_URL/.test(error.message) && !/hush|someone|REDIS_URL\b/.test(error.message),
    );
    assert.throws(() => loadSettings({ REDIS_COUNTERS_URL: 'http://127.0.0.1:6379' }), /REDIS_COUNTERS_URL/);
  });

  it('refuses an unknown credential kind, naming REDIS_CREDENTIAL only', () => {
    assert.throws(
      () => loadSettings({ REDIS_URL: 'rediss://:hush@x.redis.cache.windows.net:6380', REDIS_CREDENTIAL: 'password' }),
      (error: Error) => error instanceof SettingsError && /REDIS_CREDENTIAL/.test(error.message) && !/hush|password/.test(error.message),
    );
  });
});
