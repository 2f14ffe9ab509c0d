using NovaCompute.Logging;

namespace NovaCompute.Tests.Logging;

public class SecretMaskerTests
{
    [TestCase("rabbit://nova:s3cret@host/", "rabbit://nova:****@host/")]
    [TestCase("rabbit://nova:s3cret@host:5672/nova", "rabbit://nova:****@host:5672/nova")]
    [TestCase("rabbit://a:b@h1:5672,c:d@h2:5672/vhost", "rabbit://a:****@h1:5672,c:****@h2:5672/vhost")]
    [TestCase("rabbit://a:b@h1,c:d@h2", "rabbit://a:****@h1,c:****@h2")]
    [TestCase("postgresql://nova:pw@db/nova?sslmode=require", "postgresql://nova:****@db/nova?sslmode=require")]
    [TestCase("url='mysql+pymysql://root:p@ss@db/nova' next", "url='mysql+pymysql://root:****@db/nova' next")]
    [TestCase("http://user:pa/ss@host/path", "http://user:****@host/path")]
    [TestCase("Connecting to rabbit://nova:x@a and rabbit://nova:y@b.", "Connecting to rabbit://nova:****@a and rabbit://nova:****@b.")]
    [TestCase("\"transport_url\": \"rabbit://n:secret@h/\"", "\"transport_url\": \"rabbit://n:****@h/\"")]
    public void Mask_UrlCredentials_PasswordReplaced(string text, string expected)
    {
        Assert.That(SecretMasker.Mask(text), Is.EqualTo(expected));
    }

    [TestCase("rabbit://nova@host/")]
    [TestCase("rabbit://host:5672/")]
    [TestCase("http://host/path@x")]
    [TestCase("see https://docs.openstack.org/nova/latest/ for details")]
    [TestCase("trailing ://")]
    [TestCase("odd ://@ and ://:@x")]
    public void Mask_UrlWithoutPassword_Unchanged(string text)
    {
        Assert.That(SecretMasker.Mask(text), Is.SameAs(text));
    }

    [TestCase("password=secret rest", "password=*** rest")]
    [TestCase("admin_password = secret", "admin_password = ***")]
    [TestCase("PASSWORD=secret", "PASSWORD=***")]
    [TestCase("password2=secret", "password2=***")]
    [TestCase("password=\"a b c\" rest", "password=\"***\" rest")]
    [TestCase("password='it''s' rest", "password='***''s' rest")]
    [TestCase("Host=db;Password=hunter2;Username=nova", "Host=db;Password=***;Username=nova")]
    [TestCase("GET /x?token=abc&limit=5", "GET /x?token=***&limit=5")]
    [TestCase("{\"password\": \"secret\", \"user\": \"bob\"}", "{\"password\": \"***\", \"user\": \"bob\"}")]
    [TestCase("{'auth_token': 'abc', 'x': 1}", "{'auth_token': '***', 'x': 1}")]
    [TestCase("{'original_password': u'abc'}", "{'original_password': u'***'}")]
    [TestCase("{\"adminPass\": \"abc\"}", "{\"adminPass\": \"***\"}")]
    [TestCase("{\"password\": 12345, \"x\": 1}", "{\"password\": ***, \"x\": 1}")]
    [TestCase("{\"password\": \"a\\\"b\", \"x\": \"y\"}", "{\"password\": \"***\", \"x\": \"y\"}")]
    [TestCase("<password>secret</password>", "<password>***</password>")]
    [TestCase("cmd --password secret --user bob", "cmd --password *** --user bob")]
    [TestCase("X-Auth-Token: gAAAAABk123", "X-Auth-Token: ***")]
    [TestCase("secret_uuid=abc", "secret_uuid=***")]
    [TestCase("Token 'abc'", "Token '***'")]
    public void Mask_OsloKeyForms_ValueReplaced(string text, string expected)
    {
        Assert.That(SecretMasker.Mask(text), Is.EqualTo(expected));
    }

    [Test]
    public void Mask_OsloWildcardCase_DoesNotSwallowFollowingText()
    {
        // oslo's mask_password turns this into {'auth_token': '***': 1} (oslo_utils/strutils.py _SANITIZE_PATTERNS_WILDCARD).
        Assert.That(SecretMasker.Mask("{'auth_token': 'abc', 'x': 1}"), Is.EqualTo("{'auth_token': '***', 'x': 1}"));
    }

    [Test]
    public void Mask_UrlAndKeyInOneText_BothMasked()
    {
        Assert.That(SecretMasker.Mask("url=postgresql://nova:pw@db/nova?password=x"),
            Is.EqualTo("url=postgresql://nova:****@db/nova?password=***"));
    }

    [Test]
    public void Mask_AlreadyMasked_Unchanged()
    {
        const string text = "rabbit://nova:****@host/ password=***";
        Assert.That(SecretMasker.Mask(text), Is.EqualTo(text));
    }

    [TestCase("Starting compute node (version 26.2.2)")]
    [TestCase("Updating resource usage for node compute-01")]
    [TestCase("tokens=5")]
    [TestCase("")]
    public void Mask_NothingSecret_ReturnsSameInstance(string text)
    {
        Assert.That(SecretMasker.Mask(text), Is.SameAs(text));
    }

    [TestCase("Starting compute node", false)]
    [TestCase("rabbit://h/", true)]
    [TestCase("the Passphrase is", true)]
    [TestCase("TOKEN", true)]
    public void MightContainSecret_FastPath(string text, bool expected)
    {
        Assert.That(SecretMasker.MightContainSecret(text), Is.EqualTo(expected));
    }
}
