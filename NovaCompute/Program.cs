using NovaCompute.Cli;

namespace NovaCompute;

public static class Program
{
    public static Task<int> Main(string[] args) => NovaCommandLine.InvokeAsync(args);
}
