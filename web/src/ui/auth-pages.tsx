import { useEffect, useState } from "preact/hooks";

import { isApiError, errorMessage, fieldMessage, type Problem } from "../lib/problem";
import { paths } from "../lib/routes";
import { useServices } from "./app-context";
import { ErrorNote, Loading, PageHeading } from "./common";
import { Field, FormError, Honeypot } from "./forms";
import { Link, navigate } from "./router";

const PROVIDER_NAMES: Record<string, string> = { google: "Google", github: "GitHub" };

/** The form token dates when the form was shown; the users service scores very fast fills. */
function useFormToken(): () => string | undefined {
  const { api } = useServices();
  const [token, setToken] = useState<string | undefined>(undefined);
  useEffect(() => {
    api.formToken().then(
      (answer) => setToken(answer.form_token),
      () => setToken(undefined),
    );
  }, [api]);
  return () => token;
}

function problemOf(error: unknown): Problem | null {
  return isApiError(error) ? error.problem : null;
}

function OAuthButtons({ next }: { next: string | null }) {
  const { config, api } = useServices();
  if (config.oauthProviders.length === 0) return null;
  return (
    <div class="oauth">
      <p class="muted">or</p>
      {config.oauthProviders.map((provider) => (
        <a key={provider} class="button oauth-button" href={api.oauthStartUrl(provider, next ?? undefined)}>
          Continue with {PROVIDER_NAMES[provider] ?? provider}
        </a>
      ))}
    </div>
  );
}

const OAUTH_ERRORS: Record<string, string> = {
  "oauth/access-denied": "Sign-in was cancelled at the provider.",
  "oauth/code-rejected": "The provider's answer could not be used. Try again.",
};

export function LoginPage({ next, error: landingError }: { next: string | null; error: string | null }) {
  const { api, auth } = useServices();
  const formToken = useFormToken();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [website, setWebsite] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const tokens = await api.login({ email: email.trim(), password, form_token: formToken(), website: website || undefined });
      auth.signIn(tokens);
      navigate(next ?? paths.home(), { replace: true });
    } catch (reason) {
      setError(reason);
      setBusy(false);
    }
  };

  const problem = problemOf(error);
  return (
    <section class="narrow">
      <PageHeading title="Log in">Log in</PageHeading>
      {landingError && <div class="note note-error" role="alert">{OAUTH_ERRORS[landingError] ?? "Sign-in failed."}</div>}
      <form onSubmit={submit} noValidate>
        <Field label="Email" type="email" autocomplete="email" required value={email} onValue={setEmail} error={fieldMessage(problem, "email")} />
        <Field label="Password" type="password" autocomplete="current-password" required value={password} onValue={setPassword} error={fieldMessage(problem, "password")} />
        <Honeypot value={website} onValue={setWebsite} />
        <FormError error={error} fields={["email", "password"]} />
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
      <OAuthButtons next={next} />
      <p>
        <Link href={paths.forgotPassword()}>Forgot your password?</Link>
      </p>
      <p>
        New here? <Link href={paths.signup()}>Sign up</Link>
      </p>
    </section>
  );
}

export function SignupPage() {
  const { api, auth } = useServices();
  const formToken = useFormToken();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [website, setWebsite] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const registered = await api.register({
        email: email.trim(),
        password,
        display_name: name,
        form_token: formToken(),
        website: website || undefined,
      });
      auth.signIn(registered.tokens);
      navigate(paths.home(), { replace: true });
    } catch (reason) {
      setError(reason);
      setBusy(false);
    }
  };

  const problem = problemOf(error);
  return (
    <section class="narrow">
      <PageHeading title="Sign up">Sign up</PageHeading>
      <form onSubmit={submit} noValidate>
        <Field label="Display name" autocomplete="nickname" required value={name} onValue={setName} error={fieldMessage(problem, "display_name")} />
        <Field label="Email" type="email" autocomplete="email" required value={email} onValue={setEmail} error={fieldMessage(problem, "email")} />
        <Field
          label="Password"
          type="password"
          autocomplete="new-password"
          required
          minLength={8}
          maxLength={128}
          value={password}
          onValue={setPassword}
          hint="8 to 128 characters; very common passwords are refused."
          error={fieldMessage(problem, "password")}
        />
        <Honeypot value={website} onValue={setWebsite} />
        <FormError error={error} fields={["email", "password", "display_name"]} />
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? "Creating your account…" : "Sign up"}
        </button>
      </form>
      <OAuthButtons next={null} />
      <p>
        Have an account? <Link href={paths.login()}>Log in</Link>
      </p>
    </section>
  );
}

export function ForgotPasswordPage() {
  const { api } = useServices();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.forgotPassword(email.trim());
      setSent(true);
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <PageHeading title="Reset your password">Reset your password</PageHeading>
      {sent ? (
        <p role="status">If an account uses {email.trim()}, a reset link is on its way. It works for 30 minutes.</p>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field label="Email" type="email" autocomplete="email" required value={email} onValue={setEmail} />
          {error !== null && <ErrorNote error={error} />}
          <button type="submit" class="button button-primary" disabled={busy}>
            Send reset link
          </button>
        </form>
      )}
      <p>
        <Link href={paths.login()}>Back to log in</Link>
      </p>
    </section>
  );
}

export function ResetPasswordPage({ token }: { token: string }) {
  const { api } = useServices();
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.resetPassword(token, password);
      setDone(true);
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <PageHeading title="Choose a new password">Choose a new password</PageHeading>
      {!token && <p class="note note-error">This link has no token. Request a new one.</p>}
      {done ? (
        <p role="status">
          Your password is changed and every session was signed out. <Link href={paths.login()}>Log in</Link>
        </p>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field
            label="New password"
            type="password"
            autocomplete="new-password"
            required
            value={password}
            onValue={setPassword}
            hint="8 to 128 characters."
            error={fieldMessage(problemOf(error), "password")}
          />
          <FormError error={error} fields={["password"]} />
          <button type="submit" class="button button-primary" disabled={busy || !token}>
            Set password
          </button>
        </form>
      )}
    </section>
  );
}

export function VerifyEmailPage({ token }: { token: string }) {
  const { api } = useServices();
  const [state, setState] = useState<"working" | "done" | "failed">("working");
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.verifyEmail(token).then(
      () => setState("done"),
      (reason: unknown) => {
        setError(reason);
        setState("failed");
      },
    );
  }, [api, token]);
  return (
    <section class="narrow">
      <PageHeading title="Email confirmation">Email confirmation</PageHeading>
      {state === "working" && <Loading label="Confirming your email…" />}
      {state === "done" && <p role="status">Your email address is confirmed.</p>}
      {state === "failed" && <ErrorNote error={error} />}
      <p>
        <Link href={paths.home()}>Go to Spotilike</Link>
      </p>
    </section>
  );
}

/** Where the users service sends the browser after Google or GitHub: trade the code for tokens. */
export function OAuthCompletePage({ code, next }: { code: string; next: string | null }) {
  const { api, auth } = useServices();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!code) {
      setError("The sign-in link has no code.");
      return;
    }
    api.oauthExchange(code).then(
      (tokens) => {
        auth.signIn(tokens);
        navigate(next ?? paths.home(), { replace: true });
      },
      (reason: unknown) => setError(errorMessage(reason)),
    );
  }, [api, auth, code, next]);
  return (
    <section class="narrow">
      <PageHeading title="Signing in">Signing in</PageHeading>
      {error ? (
        <div class="note note-error" role="alert">
          {error} <Link href={paths.login()}>Back to log in</Link>
        </div>
      ) : (
        <Loading label="Finishing sign-in…" />
      )}
    </section>
  );
}
