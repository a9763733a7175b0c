// Drive the AI SDK's own chat (`AbstractChat`, what useChat wraps) through a conversation
// with a regenerate and an edit against family A, and print one JSON line
// {messages: [{id, role, text}], steps: {...}} for the Python test to compare with the stored
// conversation (GET /api/chats/{id}).
//
//   node branches.mjs <baseUrl> <chatId> <"chat-session=…" | "Bearer <jwt>">
import { AbstractChat } from 'ai';
import { fail, identityHeaders, makeTransport, parseArgs, print, textOf } from './client.mjs';

// The plainest ChatState: what @ai-sdk/react keeps in React state, kept in an array here.
class ArrayState {
  constructor(messages) {
    this.messages = messages;
    this.status = 'ready';
    this.error = undefined;
  }

  pushMessage = (message) => {
    this.messages = this.messages.concat(message);
  };

  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };

  replaceMessage = (index, message) => {
    this.messages = [...this.messages.slice(0, index), message, ...this.messages.slice(index + 1)];
  };

  snapshot = (thing) => structuredClone(thing);
}

class NodeChat extends AbstractChat {
  constructor({ messages, ...init }) {
    super({ ...init, state: new ArrayState(messages) });
  }
}

const args = parseArgs('branches.mjs');

// The page loads the stored chat, as after a reload.
async function load() {
  const response = await fetch(`${args.baseUrl}/api/chats/${args.chatId}`, {
    headers: identityHeaders(args.identity),
  });
  if (!response.ok) fail(`GET chat: ${response.status} ${await response.text()}`);
  const chat = await response.json();
  return chat.messages.map((m) => ({
    id: m.id,
    role: m.role,
    parts: [{ type: 'text', text: m.content }],
  }));
}

const brief = (messages) => messages.map((m) => ({ id: m.id, role: m.role, text: textOf(m) }));

try {
  const chat = new NodeChat({
    id: args.chatId,
    messages: await load(),
    transport: makeTransport(args),
  });
  const check = (step) => {
    if (chat.status === 'error') fail(`${step}: ${chat.error?.stack ?? chat.error}`);
  };
  const steps = {};

  await chat.sendMessage({ text: 'What should I bring?' });
  check('sendMessage');
  steps.firstReply = chat.messages.at(-1).id;

  await chat.regenerate({ messageId: steps.firstReply });
  check('regenerate(messageId)');
  steps.secondReply = chat.messages.at(-1).id;

  await chat.sendMessage({ text: 'And for lunch?' });
  check('sendMessage');
  steps.lunch = chat.messages.at(-2).id;
  steps.lunchReply = chat.messages.at(-1).id;

  await chat.sendMessage({ text: 'And for dinner?', messageId: steps.lunch });
  check('sendMessage(edit)');
  steps.dinnerReply = chat.messages.at(-1).id;

  await chat.regenerate();
  check('regenerate()');
  steps.lastReply = chat.messages.at(-1).id;

  steps.reloaded = brief(await load());
  print({ messages: brief(chat.messages), steps });
} catch (error) {
  fail(`branches.mjs: ${error?.stack ?? error}`);
}
