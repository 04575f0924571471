/**
 * RFC 9457 problem details, as every Spotilike service answers errors.
 *
 * The `type` is `https://spotilike.dev/problems/<code>`; code is what the player branches
 * on (`streaming/token-expired`, `risk/challenge-required`), never the human text.
 */

export const PROBLEM_TYPE_BASE = "https://spotilike.dev/problems/";

export interface FieldError {
  in: string;
  pointer: string;
  detail: string;
}

export interface Problem {
  status: number;
  type: string;
  code: string;
  title: string;
  detail: string;
  errors: FieldError[];
  /** Seconds from Retry-After, when the answer carried one. */
  retryAfter: number | null;
  extensions: Record<string, unknown>;
}

export function problemCode(type: string): string {
  const marker = "/problems/";
  const at = type.indexOf(marker);
  if (at >= 0) return type.slice(at + marker.length);
  return type === "about:blank" ? "" : type;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function fieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => {
    if (typeof item !== "object" || item === null) return [];
    const entry = item as Record<string, unknown>;
    return [{ in: text(entry.in), pointer: text(entry.pointer), detail: text(entry.detail) }];
  });
}

export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - now) / 1000));
}

const STANDARD_MEMBERS = new Set(["type", "title", "status", "detail", "errors", "instance"]);

/** A problem from any answer body: a real problem document, other JSON, text or nothing. */
export function parseProblem(status: number, body: unknown, retryAfter: string | null = null): Problem {
  const doc = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const type = text(doc.type) || "about:blank";
  const extensions = Object.fromEntries(
    Object.entries(doc).filter(([key]) => !STANDARD_MEMBERS.has(key)),
  );
  return {
    status: typeof doc.status === "number" ? doc.status : status,
    type,
    code: problemCode(type),
    title: text(doc.title),
    detail: text(doc.detail) || (typeof body === "string" ? body.slice(0, 300) : ""),
    errors: fieldErrors(doc.errors),
    retryAfter: parseRetryAfter(retryAfter),
    extensions,
  };
}

export function hasCode(problem: Problem, code: string): boolean {
  return problem.code === code || problem.type.endsWith("/" + code);
}

const FRIENDLY: Record<string, string> = {
  "auth/invalid-credentials": "That email and password do not match an account.",
  "risk/challenge-required":
    "We could not tell this sign-in apart from automated traffic. Wait a moment and try again.",
  "risk/blocked": "This request was refused as automated traffic.",
};

/** A sentence to show a person: ours for the codes we know, else the service's detail. */
export function problemMessage(problem: Problem): string {
  const known = FRIENDLY[problem.code];
  if (known) return known;
  if (problem.status === 429) {
    const wait = problem.retryAfter === null ? "" : ` Try again in ${problem.retryAfter} s.`;
    return "Too many attempts." + wait;
  }
  if (problem.detail) return problem.detail;
  if (problem.title) return problem.title;
  if (problem.status === 0) return "The server could not be reached. Check your connection.";
  return `The request failed (HTTP ${problem.status}).`;
}

/** The message for one form field, from the JSON pointer the service gave (`/email`). */
export function fieldMessage(problem: Problem | null, field: string): string | null {
  if (!problem) return null;
  const hit = problem.errors.find((error) => error.pointer === "/" + field);
  return hit ? hit.detail : null;
}

export class ApiError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problemMessage(problem));
    this.name = "ApiError";
    this.problem = problem;
  }
}

export function isApiError(error: unknown, code?: string): error is ApiError {
  if (!(error instanceof ApiError)) return false;
  return code === undefined || hasCode(error.problem, code);
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
