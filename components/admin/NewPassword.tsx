/** A password Floe just made (new account or reset), shown once with a plain warning that it will not be shown again. */
export function NewPassword({ name, password }: { name: string; password: string }) {
  return (
    <div className="new-password" role="status">
      <p>
        Password for <strong>{name}</strong>: <code className="mono" aria-label={`New password for ${name}`}>{password}</code>
      </p>
      <p className="hint">Shown once: give it to {name} now. Floe keeps only a hash of it.</p>
    </div>
  );
}
