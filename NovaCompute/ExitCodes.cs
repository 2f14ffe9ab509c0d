namespace NovaCompute;

/// <summary>Process exit statuses; systemd's <c>RestartPreventExitStatus=78</c> keys on <see cref="Config"/>.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Start-up or a worker failed: systemd's <c>Restart=on-failure</c> restarts us (nova exits 0 here).</summary>
    public const int Failure = 1;

    /// <summary>Bad command-line arguments (argparse's status, as nova's).</summary>
    public const int Usage = 2;

    /// <summary>EX_CONFIG from sysexits.h: the configuration is invalid, restarting cannot help.</summary>
    public const int Config = 78;
}
