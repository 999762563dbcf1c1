// The Azure Functions entry point: registration only. Services are composed on first use.
import { app } from '@azure/functions';
import { countDeadLetters, registerWithFunctions } from '../shared/adapters/functions/register';
import { lazyServices } from '../shared/kernel/composition';
import { appModules, READ_CONTAINERS } from '../shared/platform/app';
import { bootstrap } from '../shared/platform/bootstrap';

const services = lazyServices(READ_CONTAINERS, process.env, bootstrap);
for (const module of appModules(services)) registerWithFunctions(app, module, { deadLettered: countDeadLetters(services) });
