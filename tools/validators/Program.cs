// Parses T-SQL files with Microsoft's own parser (ScriptDom) at the Azure SQL Database
// language level and prints every syntax error as "file:line:column: message".
// Exit code: 0 when every file parses, 1 when one does not, 2 on bad usage.
using Microsoft.SqlServer.TransactSql.ScriptDom;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: validators tsql <file.sql>...");
    return 2;
}
var files = args[0] == "tsql" ? args[1..] : args;
var failed = false;
foreach (var file in files)
{
    // TSql170Parser covers SQL Server 2025 and Azure SQL Database (compatibility level 170).
    var parser = new TSql170Parser(initialQuotedIdentifiers: true);
    using var reader = new StreamReader(file);
    var fragment = parser.Parse(reader, out IList<ParseError> errors);
    foreach (var error in errors)
    {
        Console.WriteLine($"{file}:{error.Line}:{error.Column}: {error.Message}");
        failed = true;
    }
    if (errors.Count == 0)
    {
        var batches = fragment is TSqlScript script ? script.Batches.Count : 0;
        Console.WriteLine($"{file}: {batches} batches parsed");
    }
}
return failed ? 1 : 0;
