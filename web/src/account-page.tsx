import { useEffect, useState } from 'preact/hooks';
import { bodyOf } from './api';
import { when } from './format';
import { endErasedSession, logIn, logOut, onSessionChange, register, sendSignedIn, sessionEndedReason, signedIn } from './session';
import { Failure, Loading } from './status';
import { useSubmission } from './submission';

interface Account {
  id: string;
  email: string;
  name: string;
  cpf?: string;
  phone?: string;
  roles: string[];
}

interface MyData {
  account: Account;
  sessions: object[];
  history: { type: string; occurredAt: string; version: number }[];
  storage: string;
}

/** What happened to the account, in words; a kind the app does not know yet shows as the API names it. */
const HISTORY_NAMES: Record<string, string> = {
  UserRegistered: 'Conta criada',
  UserRolesAssigned: 'Papéis alterados',
  UserPasswordRehashed: 'Proteção da senha atualizada',
  UserErased: 'Conta excluída',
};

/** "Minha conta": sign in or open an account; then my data (LGPD access), sign out and erase. */
export function AccountPage() {
  const [isSignedIn, setSignedIn] = useState(signedIn);
  const [erased, setErased] = useState(false);
  useEffect(() => onSessionChange(() => setSignedIn(signedIn())), []);
  if (erased) {
    return (
      <section>
        <h1>Conta excluída</h1>
        <p class="notice" role="status">
          Sua conta foi excluída e seus dados pessoais não podem mais ser lidos por ninguém.
        </p>
        <a href="#/">Voltar à busca</a>
      </section>
    );
  }
  return isSignedIn ? <SignedIn onErased={() => setErased(true)} /> : <SignIn />;
}

function SignIn() {
  const endedBecause = sessionEndedReason();
  return (
    <>
      <h1>Minha conta</h1>
      {endedBecause && (
        <p class="notice" role="status">
          {endedBecause}
        </p>
      )}
      <div class="columns">
        <LoginForm />
        <RegisterForm />
      </div>
    </>
  );
}

const field = (event: Event) => (event.target as HTMLInputElement).value;

function LoginForm() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmission();
  return (
    <form class="card" aria-labelledby="entrar" onSubmit={submit(() => logIn(email, password))}>
      <h2 id="entrar">Entrar</h2>
      <label for="login-email">E-mail</label>
      <input id="login-email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(field(e))} />
      <label for="login-senha">Senha</label>
      <input id="login-senha" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(field(e))} />
      <button type="submit" disabled={busy}>
        {busy ? 'Entrando…' : 'Entrar'}
      </button>
      {error !== undefined && <Failure error={error} />}
    </form>
  );
}

function RegisterForm() {
  const [account, setAccount] = useState({ name: '', email: '', password: '', cpf: '' });
  const { busy, error, submit } = useSubmission();
  const set = (key: keyof typeof account) => (event: Event) => setAccount({ ...account, [key]: field(event) });
  const { cpf, ...required } = account;
  return (
    <form class="card" aria-labelledby="criar" onSubmit={submit(() => register(cpf ? account : required))}>
      <h2 id="criar">Criar conta</h2>
      <label for="nome">Nome</label>
      <input id="nome" autocomplete="name" required maxLength={200} value={account.name} onInput={set('name')} />
      <label for="registro-email">E-mail</label>
      <input id="registro-email" type="email" autocomplete="email" required maxLength={254} value={account.email} onInput={set('email')} />
      <label for="registro-senha">Senha (ao menos 10 caracteres, não uma senha comum)</label>
      <input id="registro-senha" type="password" autocomplete="new-password" required minLength={10} maxLength={256} value={account.password} onInput={set('password')} />
      <label for="cpf">CPF (opcional)</label>
      <input id="cpf" inputMode="numeric" autocomplete="off" maxLength={14} value={account.cpf} onInput={set('cpf')} />
      <button type="submit" disabled={busy}>
        {busy ? 'Criando…' : 'Criar conta'}
      </button>
      {error !== undefined && <Failure error={error} />}
    </form>
  );
}

function SignedIn({ onErased }: { onErased(): void }) {
  const [account, setAccount] = useState<Account>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    sendSignedIn('auth/me').then(bodyOf<Account>).then(setAccount, setError);
  }, []);
  if (error !== undefined) return <Failure error={error} />;
  if (!account) return <Loading text="Carregando sua conta…" />;
  return (
    <>
      <h1>Olá, {account.name}</h1>
      <p>
        {account.email}{' '}
        <button type="button" class="secondary" onClick={() => void logOut()}>
          Sair
        </button>
      </p>
      <MyDataSection />
      <EraseSection onErased={onErased} />
    </>
  );
}

function MyDataSection() {
  const [data, setData] = useState<MyData>();
  const { busy, error, submit } = useSubmission();
  const download = data && URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  useEffect(() => () => download && URL.revokeObjectURL(download), [download]);
  return (
    <section class="card" aria-labelledby="meus-dados">
      <h2 id="meus-dados">Meus dados (LGPD)</h2>
      <p>Tudo o que guardamos sobre você, como está guardado.</p>
      <form onSubmit={submit(async () => setData(await bodyOf<MyData>(await sendSignedIn('auth/me/data'))))}>
        <button type="submit" disabled={busy}>
          {busy ? 'Carregando…' : 'Ver meus dados'}
        </button>
      </form>
      {error !== undefined && <Failure error={error} />}
      {data && (
        <div class="my-data">
          <dl>
            <dt>Nome</dt>
            <dd>{data.account.name}</dd>
            <dt>E-mail</dt>
            <dd>{data.account.email}</dd>
            {data.account.cpf && (
              <>
                <dt>CPF</dt>
                <dd>{data.account.cpf}</dd>
              </>
            )}
            <dt>Sessões abertas</dt>
            <dd>{data.sessions.length}</dd>
          </dl>
          <h3>Histórico</h3>
          <ul>
            {data.history.map((entry) => (
              <li key={entry.version}>
                {when(entry.occurredAt)}: {HISTORY_NAMES[entry.type] ?? entry.type}
              </li>
            ))}
          </ul>
          <p class="muted">Seus dados pessoais são guardados cifrados com uma chave só sua; excluir a conta destrói essa chave.</p>
          <a href={download} download="meus-dados-farmacias.json">
            Baixar meus dados (JSON)
          </a>
        </div>
      )}
    </section>
  );
}

function EraseSection({ onErased }: { onErased(): void }) {
  const [understood, setUnderstood] = useState(false);
  const { busy, error, submit } = useSubmission();
  const erase = async () => {
    await bodyOf(await sendSignedIn('auth/me', { method: 'DELETE' }));
    endErasedSession();
    onErased();
  };
  return (
    <section class="card danger" aria-labelledby="excluir">
      <h2 id="excluir">Excluir minha conta</h2>
      <p>Ao excluir sua conta:</p>
      <ul>
        <li>seu nome, e-mail, CPF e telefone ficam ilegíveis para sempre, inclusive nas cópias de segurança: a chave que os cifra é destruída;</li>
        <li>todas as suas sessões terminam, em todos os aparelhos;</li>
        <li>fica apenas o registro de que uma conta existiu e foi excluída, sem nenhum dado seu;</li>
        <li>não há como desfazer; o mesmo e-mail poderá abrir uma conta nova.</li>
      </ul>
      <form onSubmit={submit(erase)}>
        <label>
          <input type="checkbox" checked={understood} onChange={(event) => setUnderstood((event.target as HTMLInputElement).checked)} /> Entendo que isto não pode ser desfeito
        </label>
        <button type="submit" class="danger" disabled={!understood || busy}>
          {busy ? 'Excluindo…' : 'Excluir minha conta definitivamente'}
        </button>
      </form>
      {error !== undefined && <Failure error={error} />}
    </section>
  );
}
