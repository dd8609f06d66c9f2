import type { LabelSelector, Labels } from './fleet-spec.js';

/**
 * Whether a device's labels satisfy a selector: every key must be present
 * with the value given, or one of the values listed (Kubernetes' `In`).
 * An empty selector matches everything.
 *
 * @example
 * matchesSelector({ site: 'oslo', ring: 'canary' }, { site: ['oslo', 'bergen'] }); // true
 */
export function matchesSelector(labels: Labels, selector: LabelSelector): boolean {
  for (const [key, wanted] of Object.entries(selector)) {
    const value = labels[key];
    if (value === undefined) return false;
    if (Array.isArray(wanted) ? !wanted.includes(value) : wanted !== value) return false;
  }
  return true;
}

/** A selector as people write it: `site=oslo, hardware in (n100, rpi5)`. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector).map(([key, wanted]) =>
    Array.isArray(wanted) ? `${key} in (${wanted.join(', ')})` : `${key}=${wanted}`,
  );
  return parts.length ? parts.join(', ') : 'every device';
}
