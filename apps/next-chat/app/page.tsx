import { Chat } from './chat';

/** The served test model (app/models/[...file]/route.ts), unless `?model=` names another. */
const DEFAULT_MODEL = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';

type Query = Record<string, string | string[] | undefined>;

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `?backend=server` chats with the route; anything else runs the model in this page. */
export default async function Page({ searchParams }: { searchParams: Promise<Query> }) {
  const query = await searchParams;
  const maxTokens = Number(one(query.maxTokens) ?? 256);
  return (
    <main>
      <h1>Hearth · Next.js</h1>
      <Chat
        backend={one(query.backend) === 'server' ? 'server' : 'browser'}
        model={one(query.model) ?? DEFAULT_MODEL}
        maxTokens={Number.isSafeInteger(maxTokens) && maxTokens > 0 ? maxTokens : 256}
      />
    </main>
  );
}
