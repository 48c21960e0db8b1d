using System.CommandLine;
using Platform.Cli;

var root = new RootCommand("platform: a multimodal retail search and recommendation platform (smart shopping guide)");
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(IngestCommand.Create());
root.Subcommands.Add(SearchCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(FitFusionCommand.Create());
return await root.Parse(args).InvokeAsync();
