import { useState } from 'preact/hooks';

/**
 * What a form or a button is doing: busy while its work runs, then what it did (a message)
 * or why it failed (shown by <Failure>). One submission at a time per form.
 */
export function useSubmission() {
  const [state, setState] = useState<{ busy: boolean; done?: string; error?: unknown }>({ busy: false });
  const run = async (work: () => Promise<unknown>, done?: string) => {
    setState({ busy: true });
    try {
      await work();
      setState({ busy: false, done });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  /** A form's submit handler: no page load, then `run`. */
  const submit = (work: () => Promise<unknown>, done?: string) => (event: Event) => {
    event.preventDefault();
    return run(work, done);
  };
  return { ...state, run, submit };
}
