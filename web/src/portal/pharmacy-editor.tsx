import { useEffect, useState } from 'preact/hooks';
import type { OpeningInterval, Pharmacy } from '../api';
import { command, readAtLeast } from '../commands';
import { DAY_NAMES, SERVICE_NAMES } from '../format';
import { Failure, Loading } from '../status';
import { useSubmission } from '../submission';

type Versioned = Pharmacy & { version: number };

/** Profile, services, hours and closing of one pharmacy; every save names the version it was made on. */
export function PharmacyEditor({ pharmacyId }: { pharmacyId: string }) {
  const [pharmacy, setPharmacy] = useState<Versioned>();
  const [error, setError] = useState<unknown>();
  const load = (version?: number) => readAtLeast<Versioned>(`pharmacies/${pharmacyId}`, version).then(setPharmacy, setError);
  useEffect(() => void load(), [pharmacyId]);
  if (error !== undefined && !pharmacy) return <Failure error={error} />;
  if (!pharmacy) return <Loading text="Carregando a farmácia…" />;
  const saved = (written: { version: number }) => load(written.version);
  return (
    <>
      <ProfileForm pharmacy={pharmacy} onSaved={saved} />
      <HoursForm pharmacy={pharmacy} onSaved={saved} />
      <ClosingForm pharmacy={pharmacy} onSaved={saved} />
    </>
  );
}

interface FormProps {
  pharmacy: Versioned;
  onSaved(written: { version: number }): Promise<unknown>;
}

/** A save: busy while it runs; a success said, a failure told in words (the API's own messages). */
function useSave(onSaved: FormProps['onSaved']) {
  const { busy, done, error, submit } = useSubmission();
  const save = (work: () => Promise<{ version: number }>, message: string) => submit(async () => onSaved(await work()), message);
  const feedback = (
    <>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      {error !== undefined && <Failure error={error} />}
    </>
  );
  return { busy, save, feedback };
}

function ProfileForm({ pharmacy, onSaved }: FormProps) {
  const [tradeName, setTradeName] = useState(pharmacy.tradeName);
  const [phone, setPhone] = useState(pharmacy.phone ?? '');
  const [services, setServices] = useState(pharmacy.services);
  const { busy, save, feedback } = useSave(onSaved);
  const toggle = (service: string, on: boolean) => setServices(on ? [...services, service] : services.filter((s) => s !== service));
  return (
    <form class="card" aria-labelledby="perfil" onSubmit={save(() => command('PATCH', `pharmacies/${pharmacy.id}`, { tradeName, phone, services }, pharmacy.version), 'Perfil salvo.')}>
      <h2 id="perfil">Perfil e serviços</h2>
      <label for="nome-fantasia">Nome fantasia</label>
      <input id="nome-fantasia" required maxLength={120} value={tradeName} onInput={(e) => setTradeName((e.target as HTMLInputElement).value)} />
      <label for="telefone">Telefone</label>
      <input id="telefone" type="tel" required value={phone} onInput={(e) => setPhone((e.target as HTMLInputElement).value)} />
      <fieldset class="checks">
        <legend>Serviços</legend>
        {Object.entries(SERVICE_NAMES).map(([service, name]) => (
          <label key={service}>
            <input type="checkbox" checked={services.includes(service)} onChange={(e) => toggle(service, (e.target as HTMLInputElement).checked)} /> {name}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={busy}>
        Salvar perfil
      </button>
      {feedback}
    </form>
  );
}

const DAYS = Object.keys(DAY_NAMES) as OpeningInterval['day'][];

function HoursForm({ pharmacy, onSaved }: FormProps) {
  const [hours, setHours] = useState(pharmacy.openingHours);
  const { busy, save, feedback } = useSave(onSaved);
  const change = (index: number, patch: Partial<OpeningInterval>) => setHours(hours.map((interval, i) => (i === index ? { ...interval, ...patch } : interval)));
  return (
    <form class="card" aria-labelledby="horarios" onSubmit={save(() => command('PUT', `pharmacies/${pharmacy.id}/opening-hours`, { openingHours: hours }, pharmacy.version), 'Horários salvos.')}>
      <h2 id="horarios">Horários</h2>
      <p class="muted">Um horário que fecha antes de abrir passa da meia-noite (22:00–02:00 vai até as 2h do dia seguinte); 24:00 fecha à meia-noite.</p>
      {hours.map((interval, index) => (
        <div class="interval" key={index}>
          <select aria-label={`Dia do horário ${index + 1}`} value={interval.day} onChange={(e) => change(index, { day: (e.target as HTMLSelectElement).value as OpeningInterval['day'] })}>
            {DAYS.map((day) => (
              <option key={day} value={day}>
                {DAY_NAMES[day]}
              </option>
            ))}
          </select>
          <input aria-label={`Abre (horário ${index + 1})`} value={interval.opens} placeholder="08:00" onInput={(e) => change(index, { opens: (e.target as HTMLInputElement).value })} />
          <input aria-label={`Fecha (horário ${index + 1})`} value={interval.closes} placeholder="22:00" onInput={(e) => change(index, { closes: (e.target as HTMLInputElement).value })} />
          <button type="button" class="secondary" onClick={() => setHours(hours.filter((_, i) => i !== index))}>
            Remover
          </button>
        </div>
      ))}
      <button type="button" class="secondary" onClick={() => setHours([...hours, { day: 'mon', opens: '08:00', closes: '18:00' }])}>
        Adicionar horário
      </button>
      <button type="submit" disabled={busy}>
        Salvar horários
      </button>
      {feedback}
    </form>
  );
}

function ClosingForm({ pharmacy, onSaved }: FormProps) {
  const { busy, save, feedback } = useSave(onSaved);
  const closed = pharmacy.status === 'closed';
  const path = `pharmacies/${pharmacy.id}/${closed ? 'reopening' : 'closure'}`;
  return (
    <form class="card" aria-labelledby="funcionamento" onSubmit={save(() => command('POST', path, undefined, pharmacy.version), closed ? 'Farmácia reaberta.' : 'Farmácia fechada.')}>
      <h2 id="funcionamento">Funcionamento</h2>
      <p>{closed ? 'Esta farmácia está fechada: não aparece nas buscas.' : 'Esta farmácia está aberta e aparece nas buscas. Fechá-la a tira das buscas até reabrir.'}</p>
      <button type="submit" class={closed ? '' : 'danger'} disabled={busy}>
        {closed ? 'Reabrir a farmácia' : 'Fechar a farmácia'}
      </button>
      {feedback}
    </form>
  );
}
