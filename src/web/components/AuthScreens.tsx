/** First-run setup and sign-in (SPEC 7: the labels are pinned). */
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import type { User } from '../../shared/api-types';
import { ALIAS_INPUT_PATTERN, LIMITS } from '../../shared/limits';
import { api, errorMessage } from '../lib/api';
import { Logo } from './Logo';

function AuthLayout({ title, subtitle, children }: { title: string; subtitle: string; children: ReactNode }) {
  return (
    <main className="auth">
      <div className="auth-card">
        <div className="auth-brand">
          <Logo />
          <span className="auth-brand-name">Carillon</span>
        </div>
        <h1>{title}</h1>
        <p className="auth-subtitle">{subtitle}</p>
        {children}
      </div>
    </main>
  );
}

export function Field({
  label,
  hint,
  ...input
}: { label: string; hint?: string } & React.InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  // The hint is a description, not part of the label: the field's accessible name stays exactly `label`.
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <input id={id} {...input} {...(hint ? { 'aria-describedby': `${id}-hint` } : {})} />
      {hint ? (
        <span className="field-hint" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

export function FormError({ message }: { message: string | null }) {
  return message ? (
    <p className="form-error" role="alert">
      {message}
    </p>
  ) : null;
}

export function SetupScreen({ onDone }: { onDone: (user: User) => void }) {
  const [email, setEmail] = useState('');
  const [alias, setAlias] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { user } = await api.setup({ email: email.trim(), alias: alias.trim(), displayName: displayName.trim(), password });
      onDone(user);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <AuthLayout title="Welcome to Carillon" subtitle="Create the administrator account for this server. You can add people and rooms next.">
      <form className="form" onSubmit={submit}>
        <Field label="Email" type="email" autoComplete="email" required maxLength={LIMITS.emailMaxChars} value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        <Field
          label="Alias"
          hint="Your @handle for mentions: lower-case letters, digits, dots, dashes and underscores"
          autoComplete="username"
          required
          autoCapitalize="none"
          spellCheck={false}
          pattern={ALIAS_INPUT_PATTERN}
          maxLength={LIMITS.aliasMaxChars}
          value={alias}
          onChange={(e) => setAlias(e.target.value.toLowerCase())}
        />
        <Field label="Display name" autoComplete="name" required maxLength={LIMITS.displayNameMaxChars} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          minLength={LIMITS.passwordMinChars}
          maxLength={LIMITS.passwordMaxChars}
          hint={`At least ${LIMITS.passwordMinChars} characters`}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <FormError message={error} />
        <button type="submit" className="button button-primary button-block" disabled={busy}>
          Create administrator
        </button>
      </form>
    </AuthLayout>
  );
}

export function SignInScreen({ onDone, notice }: { onDone: (user: User) => void; notice?: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { user } = await api.login(email.trim(), password);
      onDone(user);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <AuthLayout title="Sign in" subtitle="Sign in to read and post in your rooms.">
      <form className="form" onSubmit={submit}>
        {notice ? (
          <p className="form-notice" role="status">
            {notice}
          </p>
        ) : null}
        <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        <Field label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <FormError message={error} />
        <button type="submit" className="button button-primary button-block" disabled={busy}>
          Sign in
        </button>
      </form>
    </AuthLayout>
  );
}
