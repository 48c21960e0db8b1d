namespace Platform.VectorStore;

/// <summary>
/// A condition on a point's payload or id. Keys name payload fields, with dots for nested objects
/// (<c>"attributes.colour"</c>). Where a field holds an array, a condition holds when any element satisfies it.
/// A missing field satisfies no match or range (so <c>MustNot</c> of it holds).
/// </summary>
public abstract record Condition;

/// <summary>
/// A combination: every <see cref="Must"/> condition holds, at least one <see cref="Should"/> condition holds (when
/// there are any), and no <see cref="MustNot"/> condition holds. An empty filter matches everything. Filters nest.
/// </summary>
public sealed record Filter : Condition
{
    public IReadOnlyList<Condition> Must { get; init; } = [];
    public IReadOnlyList<Condition> Should { get; init; } = [];
    public IReadOnlyList<Condition> MustNot { get; init; } = [];

    public static Filter All(params Condition[] conditions) => new() { Must = conditions };
    public static Filter Any(params Condition[] conditions) => new() { Should = conditions };
    public static Filter None(params Condition[] conditions) => new() { MustNot = conditions };

    public bool IsEmpty => Must.Count == 0 && Should.Count == 0 && MustNot.Count == 0;
}

/// <summary>The field equals this string exactly (case-sensitive).</summary>
public sealed record MatchKeyword(string Key, string Value) : Condition;

/// <summary>The field equals this integer.</summary>
public sealed record MatchInteger(string Key, long Value) : Condition;

/// <summary>The field equals this boolean.</summary>
public sealed record MatchBool(string Key, bool Value) : Condition;

/// <summary>The field equals any of these strings.</summary>
public sealed record MatchAny(string Key, IReadOnlyList<string> Values) : Condition;

/// <summary>The field is a number within the bounds given (each bound optional; at least one).</summary>
public sealed record Range(string Key, double? Gt = null, double? Gte = null, double? Lt = null, double? Lte = null) : Condition;

/// <summary>The point's id is one of these.</summary>
public sealed record HasId(IReadOnlyList<string> Ids) : Condition;
