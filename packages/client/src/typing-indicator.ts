import type { ClientMessage } from '@presence/protocol';

export interface TypingIndicatorOptions {
  /** The server's TYPING_TTL_MS: at most one start is sent per this many ms. Default 3000. */
  ttlMs?: number;
  /** No keystroke for this long sends a stop, ms. Default 2000. */
  silenceMs?: number;
}

export const DEFAULT_TYPING_TTL_MS = 3000;
export const DEFAULT_TYPING_SILENCE_MS = 2000;

/**
 * Typing etiquette for one conversation. Call `keystroke()` on every input event and `stop()` when the
 * message is sent or the field loses focus; silence stops it too.
 *
 * @example
 * const typing = client.typing(conversationId);
 * input.addEventListener('input', () => typing.keystroke());
 * input.addEventListener('blur', () => typing.stop());
 * form.addEventListener('submit', () => typing.stop());
 */
export class TypingIndicator {
  readonly conversationId: number;
  readonly #send: (message: ClientMessage) => boolean;
  readonly #ttlMs: number;
  readonly #silenceMs: number;
  #typing = false;
  #lastStart = 0;
  #silence: ReturnType<typeof setTimeout> | undefined;

  /** `send` returns false when the frame could not go out (socket down); the next keystroke retries. */
  constructor(
    conversationId: number,
    send: (message: ClientMessage) => boolean,
    options: TypingIndicatorOptions = {},
  ) {
    this.conversationId = conversationId;
    this.#send = send;
    this.#ttlMs = options.ttlMs ?? DEFAULT_TYPING_TTL_MS;
    this.#silenceMs = options.silenceMs ?? DEFAULT_TYPING_SILENCE_MS;
  }

  /** Whether this client last told the server it is typing here. */
  get typing(): boolean {
    return this.#typing;
  }

  keystroke(): void {
    const now = Date.now();
    // The server keeps typing alive for TYPING_TTL_MS after a start, so one start per TTL is enough.
    if (!this.#typing || now - this.#lastStart >= this.#ttlMs) {
      if (this.#send({ type: 'presence.typing.start', conversation_id: this.conversationId })) {
        this.#typing = true;
        this.#lastStart = now;
      }
    }
    clearTimeout(this.#silence);
    this.#silence = setTimeout(() => this.stop(), this.#silenceMs);
  }

  stop(): void {
    clearTimeout(this.#silence);
    this.#silence = undefined;
    if (!this.#typing) return;
    this.#typing = false;
    this.#send({ type: 'presence.typing.stop', conversation_id: this.conversationId });
  }

  /** Forgets local state without sending; used when the socket drops (the server clears typing itself). */
  reset(): void {
    clearTimeout(this.#silence);
    this.#silence = undefined;
    this.#typing = false;
  }
}

/** One typing indicator per conversation, created on first use. */
export class TypingIndicators {
  readonly #indicators = new Map<number, TypingIndicator>();

  constructor(
    private readonly send: (message: ClientMessage) => boolean,
    private readonly options?: TypingIndicatorOptions,
  ) {}

  of(conversationId: number): TypingIndicator {
    let indicator = this.#indicators.get(conversationId);
    if (!indicator) {
      indicator = new TypingIndicator(conversationId, this.send, this.options);
      this.#indicators.set(conversationId, indicator);
    }
    return indicator;
  }

  /** Forgets every local typing state without sending (the socket dropped or the client closed). */
  resetAll(): void {
    for (const indicator of this.#indicators.values()) indicator.reset();
  }
}
