import { createHearth } from '@hearth/ai-sdk';
import { embedMany, generateText, streamText } from 'ai';

// In Node a model is a path (or a URL); in browsers a URL, a File or bytes.
const hearth = createHearth({
  model: process.env.HEARTH_MODEL ?? 'SmolLM2-135M-Instruct.Q4_1.gguf',
  embeddingModel: process.env.HEARTH_EMBEDDING_MODEL ?? 'all-MiniLM-L6-v2',
});

const { text, usage } = await generateText({
  model: hearth('smollm2'),
  prompt: 'What is the capital of France?',
  temperature: 0,
  maxOutputTokens: 20,
});
console.log(text, usage.outputTokens);

const story = streamText({
  model: hearth('smollm2'),
  prompt: 'Write a haiku about the sea.',
  maxOutputTokens: 40,
});
for await (const delta of story.textStream) process.stdout.write(delta);

const { embeddings } = await embedMany({
  model: hearth.embeddingModel('minilm'),
  values: ['A cat sleeps.', 'A kitten naps.'],
});
console.log(embeddings.length, embeddings[0]?.length);

hearth.dispose();
