namespace NovaCompute.ServiceGroup;

/// <summary>nova's <c>ServiceTooOld</c>: the rest of the deployment already runs a newer service version.</summary>
internal sealed class ServiceTooOldException(int thisVersion, int minimumVersion)
    : Exception($"This service is older (v{thisVersion}) than the minimum (v{minimumVersion}) version of the rest of the deployment. Unable to continue.");

/// <summary>nova's <c>TooOldComputeService</c> (nova/exception.py, raised by <c>raise_if_old_compute</c> in nova/utils.py).</summary>
internal sealed class TooOldComputeServiceException(string oldestSupportedVersion, string scope, int minimumServiceLevel, int oldestSupportedService)
    : Exception($"Current Nova version does not support computes older than {oldestSupportedVersion} but the minimum compute service level in your {scope} is {minimumServiceLevel} and the oldest supported service level is {oldestSupportedService}.");
