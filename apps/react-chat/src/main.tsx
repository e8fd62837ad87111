// Two chats over one model: `?mode=ai-sdk` renders useChat from @ai-sdk/react with
// HearthChatTransport, otherwise @hearth/react's useLlamaChat.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AiSdkChat } from './AiSdkChat.js';
import { App } from './App.js';
import './styles.css';

const aiSdk = new URLSearchParams(location.search).get('mode') === 'ai-sdk';
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(<StrictMode>{aiSdk ? <AiSdkChat /> : <App />}</StrictMode>);
