import { useState } from 'preact/hooks';
import { ApiError, enc, post, type Pipeline } from '../api';
import { Dialog } from './common';

/**
 * RunForm asks for a pipeline's parameters (free text, or one of its
 * options; defaults filled in; required ones marked) and triggers the run.
 */
export function RunForm(props: { pipeline: Pipeline; onClose: () => void; onStarted: (id: string) => void }) {
  const params = props.pipeline.parameterConfig || [];
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(params.map((p) => [p.name, p.default ?? (p.hasOptions && p.options?.length ? p.options[0].value : '')])),
  );
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const parameters = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
      const r = await post<{ ref: string }>(`/pipelines/${enc(props.pipeline.application)}/${enc(props.pipeline.id)}`, {
        type: 'manual',
        parameters,
      });
      props.onStarted(r.ref.replace(/^\/pipelines\//, ''));
    } catch (err) {
      setError(err as ApiError);
      setBusy(false);
    }
  };

  return (
    <Dialog title={`Run ${props.pipeline.name}`} onClose={props.onClose}>
      <form onSubmit={submit} class="form">
        {params.length === 0 && <p class="muted">This pipeline takes no parameters.</p>}
        {params.map((p) => {
          const id = `param-${p.name}`;
          return (
            <div class="field" key={p.name}>
              <label for={id}>
                {p.label || p.name}
                {p.required && <span class="req"> (required)</span>}
              </label>
              {p.hasOptions && p.options?.length ? (
                <select id={id} name={p.name} value={values[p.name]} onChange={(e) => setValues({ ...values, [p.name]: (e.target as HTMLSelectElement).value })}>
                  {p.options.map((o) => (
                    <option key={o.value} value={o.value}>
                      {o.value}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  id={id}
                  name={p.name}
                  value={values[p.name]}
                  required={p.required}
                  onInput={(e) => setValues({ ...values, [p.name]: (e.target as HTMLInputElement).value })}
                />
              )}
              {p.description && <small class="muted">{p.description}</small>}
            </div>
          );
        })}
        {error && (
          <div class="error" role="alert">
            {error.message}
            {error.errors.length > 0 && (
              <ul>
                {error.errors.map((m) => (
                  <li key={m}>{m}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Run
          </button>
        </div>
      </form>
    </Dialog>
  );
}
