// The plugin's entry point, as buf.gen.yaml runs it: a CodeGeneratorRequest on stdin, a response on stdout.
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenOpenapi } from "./plugin.js";

runNodeJs(protocGenOpenapi);
