// `certigate serve` as its own process, for tests that signal it (SIGTERM) or overload it.
import { Command } from 'commander';
import { registerServeCommand } from '../../src/cli/serve.js';

const program = new Command('certigate');
registerServeCommand(program);
await program.parseAsync(process.argv);
