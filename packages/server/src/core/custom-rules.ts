import type { CustomStatus } from '@presence/protocol';
import { nextVersion, type StoredCustom, type UserState } from './rules.js';

/**
 * The custom status rules (contract section 14) as plain functions over a `UserState`, with time passed in:
 * setting, clearing and expiry are changes (a new version, announced like a status change), and the status
 * outlives its user going offline. The memory store applies these directly; the Redis store runs the same in
 * Lua (custom-set.lua, custom-expire.lua), held to it by the store conformance suite.
 */

export const sameCustom = (a: StoredCustom | null | undefined, b: StoredCustom | null | undefined): boolean =>
  customKey(a ?? null) === customKey(b ?? null);

/** The custom status after setting (or, with null, clearing) it: a change only when it differs. */
export function setCustom(state: UserState, custom: StoredCustom | null, at: number): UserState {
  if (sameCustom(state.custom, custom)) return state;
  return { ...state, custom, v: nextVersion(state.v, at) };
}

export interface CustomExpiry {
  state: UserState;
  /** True when this call removed an expired custom status (announce it). */
  changed: boolean;
  /** When the custom status still held expires, if it does. */
  due: number | null;
}

/** Compare-and-remove: removes the custom status when its expiry is at or before `at`. */
export function expireCustom(state: UserState, at: number): CustomExpiry {
  const expiresAt = state.custom?.expiresAt ?? null;
  if (expiresAt === null || expiresAt > at) return { state, changed: false, due: expiresAt };
  return { state: { ...state, custom: null, v: nextVersion(state.v, at) }, changed: true, due: null };
}

/** The wire form: `expires_at` ISO 8601 UTC with milliseconds. */
export function wireCustom(custom: StoredCustom | null | undefined): CustomStatus | null {
  if (!custom) return null;
  const expires_at = custom.expiresAt === null ? null : new Date(custom.expiresAt).toISOString();
  return { text: custom.text, emoji: custom.emoji, expires_at };
}

/**
 * How the Redis hash (field `cu`) and PostgreSQL (`user_presence.custom`) store it: JSON with the expiry in
 * epoch ms; '' for none. Equal statuses encode equally, so comparing encodings compares statuses.
 */
export function customKey(custom: StoredCustom | null): string {
  if (custom === null) return '';
  return JSON.stringify({ text: custom.text, emoji: custom.emoji, expires_at: custom.expiresAt });
}

/** Reads `customKey`'s encoding (or the parsed JSON a driver returns); anything broken is none. */
export function parseCustom(value: unknown): StoredCustom | null {
  let data = value;
  if (typeof value === 'string') {
    if (value === '') return null;
    try {
      data = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (typeof data !== 'object' || data === null) return null;
  const { text, emoji, expires_at } = data as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' && x !== '' ? x : null);
  const custom: StoredCustom = {
    text: str(text),
    emoji: str(emoji),
    expiresAt: typeof expires_at === 'number' && Number.isFinite(expires_at) ? expires_at : null,
  };
  return custom.text === null && custom.emoji === null ? null : custom;
}
