import { useEffect, useState } from "preact/hooks";

import type { User } from "../lib/endpoints";
import { needsSignIn, paths, type Route } from "../lib/routes";
import { AccountContext, useClaims, useServices, useSession } from "./app-context";
import { AccountPage } from "./account";
import { AdminPage } from "./admin";
import { ForgotPasswordPage, LoginPage, OAuthCompletePage, ResetPasswordPage, SignupPage, VerifyEmailPage } from "./auth-pages";
import { AlbumPage, AlbumsPage, ArtistPage, ArtistsPage, GenresPage, HomePage, SearchPage } from "./browse";
import { PageHeading } from "./common";
import { Icon } from "./icons";
import { PlayerBar } from "./player-bar";
import { Link, navigate, useRoute } from "./router";
import { StudioAlbumPage, StudioPage } from "./studio";

function SearchBox({ route }: { route: Route }) {
  const initial = route.name === "search" ? route.q : "";
  const [value, setValue] = useState(initial);
  useEffect(() => setValue(initial), [initial]);
  return (
    <form
      role="search"
      class="search-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (value.trim()) navigate(paths.search(value.trim()));
      }}
    >
      <input type="search" aria-label="Search" placeholder="Search" value={value} onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)} />
      <button type="submit" class="icon-button" aria-label="Submit search">
        <Icon name="search" />
      </button>
    </form>
  );
}

function Header({ route, user }: { route: Route; user: User | null }) {
  const { auth } = useServices();
  const claims = useClaims();
  const roles = user?.roles ?? claims?.roles ?? [];
  const signedIn = claims !== null;
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [route]);
  return (
    <header class="site-header">
      <Link href={paths.home()} class="brand">
        Spotilike
      </Link>
      <SearchBox route={route} />
      <button type="button" class="icon-button menu-toggle" aria-label="Menu" aria-expanded={menuOpen} aria-controls="site-nav" onClick={() => setMenuOpen(!menuOpen)}>
        <Icon name="menu" />
      </button>
      <nav id="site-nav" class={`site-nav${menuOpen ? " open" : ""}`} aria-label="Main">
        <Link href={paths.home()} aria-current={route.name === "home" ? "page" : undefined}>
          Browse
        </Link>
        <Link href={paths.artists()} aria-current={route.name === "artists" ? "page" : undefined}>
          Artists
        </Link>
        <Link href={paths.albums()} aria-current={route.name === "albums" ? "page" : undefined}>
          Albums
        </Link>
        <Link href={paths.genres()} aria-current={route.name === "genres" ? "page" : undefined}>
          Genres
        </Link>
        {(roles.includes("ARTIST") || roles.includes("ADMIN")) && (
          <Link href={paths.studio()} aria-current={route.name.startsWith("studio") ? "page" : undefined}>
            Studio
          </Link>
        )}
        {roles.includes("ADMIN") && (
          <Link href={paths.admin()} aria-current={route.name === "admin" ? "page" : undefined}>
            Users
          </Link>
        )}
        {signedIn ? (
          <>
            <Link href={paths.account()} aria-current={route.name === "account" ? "page" : undefined}>
              {user?.display_name ?? "Account"}
            </Link>
            <button
              type="button"
              class="link-button"
              onClick={() => {
                void auth.logout();
                navigate(paths.login());
              }}
            >
              Log out
            </button>
          </>
        ) : (
          <>
            <Link href={paths.login()}>Log in</Link>
            <Link href={paths.signup()}>Sign up</Link>
          </>
        )}
      </nav>
    </header>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case "home":
      return <HomePage />;
    case "artists":
      return <ArtistsPage />;
    case "albums":
      return <AlbumsPage />;
    case "genres":
      return <GenresPage />;
    case "genre":
      return <AlbumsPage genreId={route.id} />;
    case "artist":
      return <ArtistPage id={route.id} />;
    case "album":
      return <AlbumPage id={route.id} />;
    case "search":
      return <SearchPage q={route.q} />;
    case "login":
      return <LoginPage next={route.next} error={route.error} />;
    case "signup":
      return <SignupPage />;
    case "forgot-password":
      return <ForgotPasswordPage />;
    case "reset-password":
      return <ResetPasswordPage token={route.token} />;
    case "verify-email":
      return <VerifyEmailPage token={route.token} />;
    case "oauth-complete":
      return <OAuthCompletePage code={route.code} next={route.next} />;
    case "studio":
      return <StudioPage />;
    case "studio-album":
      return <StudioAlbumPage id={route.id} />;
    case "admin":
      return <AdminPage />;
    case "account":
      return <AccountPage />;
    case "not-found":
      return (
        <section>
          <PageHeading title="Not found">Page not found</PageHeading>
          <p>
            Nothing lives at {route.path}. <Link href={paths.home()}>Browse music</Link>
          </p>
        </section>
      );
  }
}

/** The profile of whoever is signed in, reloaded when the session changes hands. */
function useUser(): { user: User | null; reload: () => void } {
  const { api } = useServices();
  const session = useSession();
  const subject = useClaims()?.sub ?? null;
  const [user, setUser] = useState<User | null>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (!session) {
      setUser(null);
      return;
    }
    let live = true;
    api.me().then(
      (me) => live && setUser(me),
      () => live && setUser(null),
    );
    return () => {
      live = false;
    };
    // The subject, not every refreshed token, decides whose profile this is.
  }, [subject, generation]);
  return { user, reload: () => setGeneration((n) => n + 1) };
}

export function App() {
  const route = useRoute();
  const session = useSession();
  const account = useUser();

  useEffect(() => {
    if (!session && needsSignIn(route)) {
      navigate(paths.login(location.pathname + location.search), { replace: true });
    }
  }, [session, route]);

  useEffect(() => {
    window.scrollTo(0, 0);
  }, [route]);

  return (
    <AccountContext.Provider value={account}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header route={route} user={account.user} />
      <main id="main" class="content">
        <Page route={route} />
      </main>
      <PlayerBar />
    </AccountContext.Provider>
  );
}
