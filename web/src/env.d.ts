/** What the build may be given (Vite's `import.meta.env`); undefined where no bundler put it. */
interface ImportMetaEnv {
  /** API Management's gateway URL (`https://….azure-api.net`); unset: the same origin's `/api/`. */
  readonly VITE_API_GATEWAY?: string;
}

interface ImportMeta {
  readonly env?: ImportMetaEnv;
}
