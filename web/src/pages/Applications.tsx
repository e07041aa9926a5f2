import { useState } from 'preact/hooks';
import { ApiError, get, post, type Application } from '../api';
import { Dialog, Empty, ErrorBox } from '../components/common';
import { navigate, useLoad } from '../util';

export function Applications() {
  const apps = useLoad(() => get<Application[]>('/applications'), []);
  const [q, setQ] = useState('');
  const [creating, setCreating] = useState(false);
  const list = (apps.data || []).filter((a) => !q || a.name.toLowerCase().includes(q.toLowerCase()) || (a.description || '').toLowerCase().includes(q.toLowerCase()));
  return (
    <main class="page">
      <div class="page-head">
        <h1>Applications</h1>
        <input type="search" placeholder="Search applications" aria-label="Search applications" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        <button class="primary" type="button" onClick={() => setCreating(true)}>
          Create application
        </button>
      </div>
      {apps.error && <ErrorBox what="Loading applications failed" error={apps.error} />}
      {apps.data && apps.data.length === 0 && <Empty>No applications yet. Create one to save pipelines in it.</Empty>}
      {apps.data && apps.data.length > 0 && list.length === 0 && <Empty>No application matches “{q}”.</Empty>}
      {list.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Owner</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.name}>
                <td>
                  <a href={`#/applications/${a.name}/executions`}>{a.name}</a>
                </td>
                <td>{a.email}</td>
                <td>{a.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && <CreateApplication onClose={() => setCreating(false)} />}
    </main>
  );
}

function CreateApplication({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await post('/tasks', {
        application: name,
        description: `Create application ${name}`,
        job: [{ type: 'createApplication', application: { name, email, description } }],
      });
      navigate(`#/applications/${name.toLowerCase()}/executions`);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <Dialog title="Create application" onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="app-name">Name</label>
          <input id="app-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="app-email">Owner email</label>
          <input id="app-email" type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="app-desc">Description</label>
          <input id="app-desc" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </div>
        {error && (
          <div class="error" role="alert">
            {error.message}
          </div>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}
