import { withHearth } from '@hearth/next/config';
import type { NextConfig } from 'next';

const config: NextConfig = {
  // The test models, from $HEARTH_MODELS_DIR (pages/api/models/[...file].ts).
  rewrites: async () => [{ source: '/models/:file*', destination: '/api/models/:file*' }],
};

// serverExternalPackages: @hearth/runner and its native addon load from node_modules at run time.
// crossOriginIsolation: COOP/COEP on every page, so the browser engine can run threaded.
export default withHearth(config, { crossOriginIsolation: true });
