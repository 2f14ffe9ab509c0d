using NovaCompute.Messaging;

namespace NovaCompute.Tests.Messaging;

public class TransportUrlTests
{
    [Test]
    public void Parse_SeveralHostsWithEncodedCredentials_AsOsloDoes()
    {
        var url = TransportUrl.Parse("rabbit://nova:s3cr%40t@rabbit1:5672,nova:s3cr%40t@rabbit2:5673/nova?heartbeat_timeout_threshold=30");

        Assert.That(url.Scheme, Is.EqualTo("rabbit"));
        Assert.That(url.Hosts, Is.EqualTo(new[]
        {
            new TransportHost("rabbit1", 5672, "nova", "s3cr@t"),
            new TransportHost("rabbit2", 5673, "nova", "s3cr@t"),
        }));
        Assert.That(url.VirtualHost, Is.EqualTo("nova"));
        Assert.That(url.Query, Is.EqualTo(new Dictionary<string, string> { ["heartbeat_timeout_threshold"] = "30" }));
    }

    [TestCase("rabbit://h/", "", "/")]
    [TestCase("rabbit://h//", "/", "/")]
    [TestCase("rabbit://h", null, "/")]
    [TestCase("rabbit://h/nova%2Fcells", "nova/cells", "nova/cells")]
    public void Parse_VirtualHostForms_KombusMeaning(string text, string? vhost, string effective)
    {
        var url = TransportUrl.Parse(text);
        Assert.That(url.VirtualHost, Is.EqualTo(vhost));
        Assert.That(url.EffectiveVirtualHost, Is.EqualTo(effective));
    }

    [Test]
    public void Parse_PasswordWithAtAndColon_LastAtSeparatesAndFirstColonSplits()
    {
        var host = TransportUrl.Parse("rabbit://user:pa:ss@word@host:1234/").Hosts.Single();
        Assert.That(host, Is.EqualTo(new TransportHost("host", 1234, "user", "pa:ss@word")));
    }

    [Test]
    public void Parse_Ipv6HostsAndMissingPort_Understood()
    {
        var url = TransportUrl.Parse("rabbit://u:p@[::1]:5673,[fe80::2]/");
        Assert.That(url.Hosts[0], Is.EqualTo(new TransportHost("::1", 5673, "u", "p")));
        Assert.That(url.Hosts[1], Is.EqualTo(new TransportHost("fe80::2", null, null, null)));
        Assert.That(url.Hosts[1].Display(5672), Is.EqualTo("[fe80::2]:5672"));
        Assert.That(url.HostsWithAndWithoutCredentials, Is.Not.Null, "oslo warns when only some hosts carry credentials");
    }

    [Test]
    public void Parse_NoHost_MeansDefaultBroker()
    {
        var url = TransportUrl.Parse("rabbit://");
        Assert.That(url.Hosts, Is.Empty);
        Assert.That(url.EffectiveVirtualHost, Is.EqualTo("/"));
    }

    [Test]
    public void Parse_RepeatedQueryKey_ValuesJoinedWithCommas()
    {
        Assert.That(TransportUrl.Parse("rabbit://h/?a=1&a=2").Query["a"], Is.EqualTo("1,2"));
    }

    [TestCase("rabbit:/h", "No scheme specified")]
    [TestCase("nohost", "No scheme specified")]
    [TestCase("rabbit://u:p@[::1:5672/", "Invalid IPv6 URL")]
    [TestCase("rabbit://u:p@h:port/", "Invalid port 'port'")]
    public void Parse_Malformed_InvalidTransportUrl(string text, string reason)
    {
        var ex = Assert.Throws<InvalidTransportUrlException>(() => TransportUrl.Parse(text));
        Assert.That(ex!.Reason, Is.EqualTo(reason));
    }

    [Test]
    public void ToStringAndErrors_NeverShowThePassword()
    {
        var url = TransportUrl.Parse("rabbit://nova:s3cr3t@h1:5672,nova:s3cr3t@h2/nova");
        var error = Assert.Throws<InvalidTransportUrlException>(() => TransportUrl.Parse("rabbit://nova:s3cr3t@h1:bad/"));

        Assert.That(url.ToString(), Is.EqualTo("rabbit://nova:****@h1:5672,nova:****@h2/nova"));
        Assert.That(url.Hosts[0].ToString(), Is.EqualTo("h1:5672"));
        Assert.That(error!.Message, Does.Not.Contain("s3cr3t"));
    }
}
