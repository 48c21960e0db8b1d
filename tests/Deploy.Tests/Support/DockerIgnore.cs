using System.Text;
using System.Text.RegularExpressions;

namespace Platform.Deploy.Tests.Support;

/// <summary>
/// .dockerignore as Docker reads it (moby/patternmatcher): patterns relative to the context root, <c>*</c> and <c>?</c>
/// within one path segment, <c>**</c> across segments, <c>!</c> re-includes; the last pattern that matches a path or
/// one of its parent folders decides.
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclusion, string Text)> patterns = [];

    public DockerIgnore(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var exclusion = line.StartsWith('!');
            if (exclusion)
                line = line[1..].Trim();
            line = line.Trim('/');
            patterns.Add((ToRegex(line), exclusion, raw));
        }
    }

    public static DockerIgnore Load(string path) => new(File.ReadAllLines(path));

    /// <summary>True when a file at <paramref name="relative"/> (forward slashes) stays out of the build context.</summary>
    public bool Excludes(string relative)
    {
        var path = relative.Replace('\\', '/').Trim('/');
        var parents = new List<string>();
        var segments = path.Split('/');
        for (var n = 1; n <= segments.Length; n++)
            parents.Add(string.Join('/', segments.Take(n)));

        var excluded = false;
        foreach (var (pattern, exclusion, _) in patterns)
        {
            if (parents.Any(p => pattern.IsMatch(p)))
                excluded = !exclusion;
        }
        return excluded;
    }

    private static Regex ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                i++;
                if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                {
                    i++;
                    regex.Append("(.*/)?");   // "**/" : any number of folders, none included
                }
                else
                    regex.Append(".*");
            }
            else if (c == '*')
                regex.Append("[^/]*");
            else if (c == '?')
                regex.Append("[^/]");
            else
                regex.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
