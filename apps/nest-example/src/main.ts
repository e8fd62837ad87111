// A NestJS app streaming a local model's tokens over Server-Sent Events.
// HOST (default 127.0.0.1), PORT (default 3000, 0: any free port), HEARTH_MODEL,
// HEARTH_BACKEND (auto, hearth, llama.cpp, wasm).
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
// SIGINT/SIGTERM run onModuleDestroy: the runner is disposed.
app.enableShutdownHooks();
const host = process.env.HOST ?? '127.0.0.1';
await app.listen(Number(process.env.PORT ?? 3000), host);
const { port } = app.getHttpServer().address() as AddressInfo;
console.log(`listening on http://${host}:${port}`);
