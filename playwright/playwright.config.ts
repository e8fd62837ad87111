import { defineConfig } from '@playwright/test';

/** Debian's Chromium: Playwright's own browser downloads are not used. */
const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'tests',
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // WebGPU on Linux (off by default there): SwiftShader's fallback adapter without a GPU.
        '--enable-unsafe-webgpu',
      ],
    },
    trace: 'retain-on-failure',
  },
});
