/** swagger-ui-dist's folder on disk; its package index would load the whole browser bundle into Node. */
declare module "swagger-ui-dist/absolute-path.js" {
  export default function getAbsoluteFSPath(): string;
}
