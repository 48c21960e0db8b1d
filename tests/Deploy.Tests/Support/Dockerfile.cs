using System.Text.Json;
using System.Text.RegularExpressions;

namespace Platform.Deploy.Tests.Support;

/// <summary>One instruction of a Dockerfile, continuation lines joined and comments dropped.</summary>
public sealed record Instruction(string Keyword, string Args, int Line)
{
    /// <summary>The arguments of a JSON (exec form) instruction: <c>["dotnet", "X.dll"]</c>.</summary>
    public static string[] ExecForm(string json) => JsonSerializer.Deserialize<string[]>(json.Trim())
        ?? throw new FormatException($"not an exec-form array: {json}");

    /// <summary>Whitespace-separated words, flags (<c>--from=build</c>) first.</summary>
    public string[] Words => Args.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>A build stage: <c>FROM base [AS name]</c> and what follows it.</summary>
public sealed record Stage(string Base, string? Name, IReadOnlyList<Instruction> Instructions)
{
    public IEnumerable<Instruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);

    /// <summary>Index of the first RUN whose command contains <paramref name="text"/>, or -1.</summary>
    public int IndexOfRun(string text) =>
        Instructions.Select((i, n) => (i, n)).FirstOrDefault(x => x.i.Keyword == "RUN" && x.i.Args.Contains(text, StringComparison.Ordinal), (null!, -1)).Item2;
}

/// <summary>A Dockerfile parsed just far enough to check how an image is built: stages, instructions, global ARGs.</summary>
public sealed partial class Dockerfile
{
    public required string Path { get; init; }
    public required IReadOnlyList<Instruction> GlobalArgs { get; init; }
    public required IReadOnlyList<Stage> Stages { get; init; }

    /// <summary>The stage the image is: the last one.</summary>
    public Stage Final => Stages[^1];

    public Stage? StageNamed(string name) => Stages.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Default values of the ARGs declared before the first FROM.</summary>
    public IReadOnlyDictionary<string, string> GlobalArgDefaults =>
        GlobalArgs.Select(a => a.Args.Split('=', 2)).ToDictionary(p => p[0].Trim(), p => p.Length > 1 ? p[1].Trim() : "");

    public static Dockerfile Load(string path)
    {
        var instructions = new List<Instruction>();
        var lines = File.ReadAllLines(path);
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var first = n;
            var text = line;
            while (text.EndsWith('\\') && n + 1 < lines.Length)
            {
                text = text[..^1];
                var next = lines[++n].Trim();
                if (next.StartsWith('#'))   // comment lines inside a continuation are dropped, as Docker does
                    continue;
                text += " " + next;
            }
            var match = InstructionPattern().Match(text);
            if (!match.Success)
                throw new FormatException($"{path}:{first + 1}: not an instruction: {text}");
            instructions.Add(new Instruction(match.Groups[1].Value.ToUpperInvariant(), match.Groups[2].Value.Trim(), first + 1));
        }

        var globalArgs = instructions.TakeWhile(i => i.Keyword != "FROM").Where(i => i.Keyword == "ARG").ToList();
        var stages = new List<Stage>();
        List<Instruction>? current = null;
        foreach (var i in instructions.SkipWhile(i => i.Keyword != "FROM"))
        {
            if (i.Keyword == "FROM")
            {
                var words = i.Words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
                current = [];
                stages.Add(new Stage(words[0], words.Length >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null, current));
            }
            else
                current!.Add(i);
        }
        return new Dockerfile { Path = path, GlobalArgs = globalArgs, Stages = stages };
    }

    [GeneratedRegex(@"^([A-Za-z]+)\s+(.*)$")]
    private static partial Regex InstructionPattern();
}
