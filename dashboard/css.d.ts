// esbuild bundles imported CSS into app.css; for the type checker a CSS import is only a side effect.
declare module '*.css';
