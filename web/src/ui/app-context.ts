import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";

import type { AuthClient } from "../lib/api";
import type { PlayerConfig } from "../lib/config";
import type { Endpoints, User } from "../lib/endpoints";
import type { Session } from "../lib/tokens";
import { readClaims, type Claims } from "../lib/tokens";
import type { Player, PlayerState } from "../player/engine";

export interface Services {
  auth: AuthClient;
  api: Endpoints;
  player: Player;
  config: PlayerConfig;
}

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (!services) throw new Error("useServices outside ServicesContext");
  return services;
}

export function useSession(): Session | null {
  const { auth } = useServices();
  const [session, setSession] = useState(auth.session);
  useEffect(() => auth.subscribe(setSession), [auth]);
  return session;
}

export function useClaims(): Claims | null {
  const session = useSession();
  return session ? readClaims(session.accessToken) : null;
}

export interface Account {
  user: User | null;
  reload: () => void;
}

export const AccountContext = createContext<Account>({ user: null, reload: () => undefined });

export function useAccount(): Account {
  return useContext(AccountContext);
}

export function usePlayerState(): PlayerState {
  const { player } = useServices();
  const [state, setState] = useState(player.snapshot);
  useEffect(() => player.subscribe(setState), [player]);
  return state;
}
