/**
 * Sends an upload's bytes with XMLHttpRequest: fetch cannot report upload progress, and the
 * studio shows a progress bar.
 */

import { ApiError, parseProblem } from "./problem";

export interface PutOptions {
  url: string;
  file: Blob;
  headers: Record<string, string>;
  /** Sent only to this site (filesystem storage behind the gateway), never to a presigned URL. */
  bearer: string | null;
  onProgress: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

/** Browsers set these themselves and refuse a script that tries. */
const FORBIDDEN = new Set(["content-length", "host", "connection"]);

export function sameOrigin(url: string, base: string): boolean {
  try {
    return new URL(url, base).origin === new URL(base).origin;
  } catch {
    return false;
  }
}

export function putFile(options: PutOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", options.url, true);
    for (const [name, value] of Object.entries(options.headers)) {
      if (!FORBIDDEN.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    if (options.bearer && sameOrigin(options.url, location.href)) {
      xhr.setRequestHeader("Authorization", `Bearer ${options.bearer}`);
    }
    xhr.upload.onprogress = (event) => options.onProgress(event.loaded, event.lengthComputable ? event.total : options.file.size);
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        // Not JSON (an S3 answer is XML); keep the text.
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(parseProblem(xhr.status, body, xhr.getResponseHeader("retry-after"))));
    };
    xhr.onerror = () => reject(new ApiError(parseProblem(0, { detail: "The upload was interrupted." })));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    options.signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(options.file);
  });
}

/**
 * The type to declare: browsers give no type for some extensions and call .ogg "video/ogg"
 * on some systems; anything else is sent as is, for the audio service to accept or refuse.
 */
export function uploadContentType(file: { type: string }): string {
  return file.type === "" || file.type === "video/ogg" ? "audio/ogg" : file.type;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("Cancelled", "AbortError"));
    });
  });
}
