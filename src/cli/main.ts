// certigate command line: thin wiring of the subcommands.
import { Command } from 'commander';
import { registerDecisionCommands } from './certify.js';
import { registerServeCommand } from './serve.js';

const program = new Command('certigate')
  .description('Certified predictions with data-dependent randomized smoothing, served live')
  .showHelpAfterError();
registerServeCommand(program);
registerDecisionCommands(program);
await program.parseAsync(process.argv);
