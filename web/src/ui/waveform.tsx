import { useEffect, useRef, useState } from "preact/hooks";

import { downsample, normalizePeaks, type Waveform } from "../lib/peaks";

const BAR_WIDTH = 2;
const BAR_GAP = 1;

function cssColor(element: Element, name: string, fallback: string): string {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

/**
 * The track's peaks as bars, the played part in the accent colour. Decorative: the seek
 * slider laid over it is the control and carries the accessible name and value.
 */
export function WaveformCanvas({ waveform, progress, buffered }: { waveform: Waveform | null; progress: number; buffered: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);

  useEffect(() => {
    const element = canvas.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver((entries) => setWidth(Math.round(entries[0]?.contentRect.width ?? 0)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const bars = useRef<{ source: Waveform | null; width: number; values: Float32Array } | null>(null);

  useEffect(() => {
    const element = canvas.current;
    if (!element || width === 0) return;
    const ratio = window.devicePixelRatio || 1;
    const height = element.clientHeight || 40;
    element.width = Math.round(width * ratio);
    element.height = Math.round(height * ratio);
    const context = element.getContext("2d");
    if (!context) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);

    const count = Math.max(1, Math.floor(width / (BAR_WIDTH + BAR_GAP)));
    if (!bars.current || bars.current.source !== waveform || bars.current.width !== width) {
      const values = waveform ? normalizePeaks(downsample(waveform.amplitudes, count)) : new Float32Array(count).fill(0.08);
      bars.current = { source: waveform, width, values };
    }
    const played = cssColor(element, "--accent", "#1db954");
    const loaded = cssColor(element, "--wave-loaded", "#8a8a8a");
    const rest = cssColor(element, "--wave-rest", "#4a4a4a");
    const middle = height / 2;
    bars.current.values.forEach((value, index) => {
      const x = index * (BAR_WIDTH + BAR_GAP);
      const at = (x + BAR_WIDTH / 2) / width;
      context.fillStyle = at <= progress ? played : at <= buffered ? loaded : rest;
      const bar = Math.max(1, value * (height - 4));
      context.fillRect(x, middle - bar / 2, BAR_WIDTH, bar);
    });
  }, [waveform, progress, buffered, width]);

  return <canvas ref={canvas} class="waveform" aria-hidden="true" />;
}
