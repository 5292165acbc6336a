import type { PresenceClient } from '@presence/client';
import type { DemoConversation } from './api.js';
import { element } from './dom.js';

export interface ConversationElements {
  title: HTMLElement;
  messages: HTMLElement;
  typing: HTMLElement;
  form: HTMLFormElement;
  input: HTMLInputElement;
}

const list = new Intl.ListFormat('en', { style: 'long', type: 'conjunction' });

/** "Alice is typing…", "Alice and Bob are typing…", or nothing. */
export function typingText(names: string[]): string {
  if (names.length === 0) return '';
  return `${list.format(names)} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

/**
 * The conversation: who is typing, and a composer wired to the SDK's typing helper (start on input,
 * stop on send and on blur; silence stops it by itself).
 */
export function mountConversation(
  ui: ConversationElements,
  client: PresenceClient,
  conversation: DemoConversation,
  me: number,
  nameOf: (userId: number) => string,
): () => void {
  const others = conversation.participant_ids.filter((id) => id !== me).map(nameOf);
  ui.title.textContent = `Conversation with ${list.format(others)}`;

  const renderTyping = () => {
    const typers = client.typingIn(conversation.conversation_id).filter((id) => id !== me);
    ui.typing.textContent = typingText(typers.map(nameOf));
  };
  const offTyping = client.on('typing', (event) => {
    if (event.conversation_id === conversation.conversation_id) renderTyping();
  });

  const typing = client.typing(conversation.conversation_id);
  const onInput = () => {
    if (ui.input.value.trim() === '') typing.stop();
    else typing.keystroke();
  };
  const onBlur = () => typing.stop();
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    const text = ui.input.value.trim();
    typing.stop();
    if (!text) return;
    ui.messages.append(element('li', {}, `${nameOf(me)}: ${text}`));
    ui.input.value = '';
  };
  ui.input.addEventListener('input', onInput);
  ui.input.addEventListener('blur', onBlur);
  ui.form.addEventListener('submit', onSubmit);
  renderTyping();

  return () => {
    offTyping();
    typing.stop();
    ui.input.removeEventListener('input', onInput);
    ui.input.removeEventListener('blur', onBlur);
    ui.form.removeEventListener('submit', onSubmit);
  };
}
