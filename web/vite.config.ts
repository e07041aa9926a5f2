import { defineConfig } from 'vite';

// The UI is served by gennaker at "/" of its API address, and in the cloud
// behind API Gateway, possibly under a stage prefix: a relative base keeps
// asset and API URLs relative to the page wherever it is mounted.
export default defineConfig({
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: Object.fromEntries(
      ['/applications', '/pipelines', '/pipelineConfigs', '/tasks', '/executions', '/credentials', '/serverGroups', '/health', '/version'].map((p) => [
        p,
        process.env.GENNAKER_API ?? 'http://127.0.0.1:8084',
      ]),
    ),
  },
});
