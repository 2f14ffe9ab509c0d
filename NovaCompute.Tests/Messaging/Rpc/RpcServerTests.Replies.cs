using System.Text;
using System.Text.Json;
using NovaCompute.Tests.Support;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace NovaCompute.Tests.Messaging.Rpc;

/// <summary>Replies whose queue does not exist: retried off the request path, bounded, never silently dropped.</summary>
public partial class RpcServerTests
{
    private const int ReplyAbandonedEvent = 4113;
    private const int ReplyRetryOverflowEvent = 4123;

    [Test]
    public async Task Reply_FloodOfCallsWithMissingReplyQueues_ValidCallsStillAnswered()
    {
        // oslo retries each such reply for 60 s inside its worker: 300 of them took all 64 workers
        // for minutes and every valid call timed out (issue 14). With 8 workers here, holding them
        // would time out every valid call below.
        await using var rig = await RpcTestRig.StartAsync();
        await using var raw = await RawPublisher.StartAsync();
        const int flood = 300;
        for (var i = 0; i < flood; i++)
        {
            await raw.PublishAsync(rig.Topic, Encoding.UTF8.GetBytes(Envelope("2.0", Request("add", "reply_gone_" + Guid.NewGuid().ToString("N")))));
        }

        // Queued behind the whole flood on the same queue, so they are handled after it.
        var client = rig.Client(timeout: TimeSpan.FromSeconds(20));
        var valid = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            client.CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = i, ["b"] = 100 })));

        Assert.That(valid, Is.EqualTo(Enumerable.Range(100, 20).ToArray()));
        await Eventually.Until(() => rig.Server.InFlight == 0, TimeSpan.FromSeconds(10), () => $"{rig.Server.InFlight} still in flight");
        Assert.That(rig.Server.RepliesWaitingForQueue, Is.GreaterThan(0), "the flood's replies wait off the request path");
        Assert.That(rig.Logs.Entries, Has.None.Matches<LogEntry>(e => e.EventId.Id == ProcessingCrashed));
    }

    [Test]
    public async Task Reply_QueueAppearsSecondsLate_ReplyStillDeliveredWithoutHoldingAWorker()
    {
        // A client reconnecting declares its reply queue again; oslo keeps the reply for 60 s for it.
        await using var rig = await RpcTestRig.StartAsync();
        await using var raw = await RawPublisher.StartAsync();
        var lateQueue = "reply_late_" + Guid.NewGuid().ToString("N");
        var request = Request("add", lateQueue, args: new { a = 40, b = 2 });
        var msgId = JsonDocument.Parse(request).RootElement.GetProperty("_msg_id").GetString()!;

        await raw.PublishAsync(rig.Topic, Encoding.UTF8.GetBytes(Envelope("2.0", request)));
        // The reply is queued just before its worker finishes, so both are waited for together.
        await Eventually.Until(() => rig.Server.RepliesWaitingForQueue == 1 && rig.Server.InFlight == 0, TimeSpan.FromSeconds(15),
            () => $"{rig.Server.RepliesWaitingForQueue} replies waiting, {rig.Server.InFlight} calls in flight");
        await Task.Delay(TimeSpan.FromSeconds(3)); // the client is "reconnecting"
        Assert.That(rig.Server.InFlight, Is.Zero, "no worker waits for the queue");
        Assert.That(rig.Server.RepliesWaitingForQueue, Is.EqualTo(1));

        await using var connection = await RabbitTestBroker.RawConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(lateQueue, false, false, true);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, args) =>
        {
            using var outer = JsonDocument.Parse(args.Body);
            reply.TrySetResult(JsonDocument.Parse(outer.RootElement.GetProperty("oslo.message").GetString()!).RootElement.Clone());
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(lateQueue, true, consumer);

        var answer = await reply.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.That(answer.GetProperty("_msg_id").GetString(), Is.EqualTo(msgId));
        Assert.That(answer.GetProperty("result").GetInt32(), Is.EqualTo(42));
        await Eventually.Until(() => rig.Server.RepliesWaitingForQueue == 0, TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task Reply_RetryQueueFull_OldestDroppedWithWarningNamingMsgIdAndQueue()
    {
        await using var rig = await RpcTestRig.StartAsync(s => s with { ReplyRetryLimit = 3 });
        await using var raw = await RawPublisher.StartAsync();
        var queues = Enumerable.Range(0, 5).Select(i => $"reply_full_{i}_{Guid.NewGuid():N}").ToList();
        foreach (var queue in queues)
        {
            await raw.PublishAsync(rig.Topic, Encoding.UTF8.GetBytes(Envelope("2.0", Request("add", queue))));
        }

        await Eventually.Until(() => rig.Logs.Entries.Count(e => e.EventId.Id == ReplyRetryOverflowEvent) == 2, TimeSpan.FromSeconds(15));
        var dropped = rig.Logs.Entries.Where(e => e.EventId.Id == ReplyRetryOverflowEvent).ToList();
        Assert.That(dropped.Select(e => e.Level), Is.All.EqualTo(Microsoft.Extensions.Logging.LogLevel.Warning));
        // Eight workers reply at once, so which two arrive first at the retry queue is not fixed.
        var droppedQueues = dropped.Select(e => (string)e.Properties["ReplyQueue"]!).ToList();
        Assert.That(droppedQueues, Is.Unique.And.SubsetOf(queues));
        Assert.That(dropped.Select(e => e.Message), Has.All.Match("^Dropping the reply [0-9a-f]{32} to reply_full_"));
        Assert.That(rig.Server.RepliesWaitingForQueue, Is.EqualTo(3));
    }

    [Test]
    public async Task Reply_QueueNeverAppears_AbandonedAfterTheDeadlineAndLaterRepliesDroppedAtOnce()
    {
        await using var rig = await RpcTestRig.StartAsync(configureRabbit: r => r with { KombuMissingConsumerRetryTimeout = 2 });
        await using var raw = await RawPublisher.StartAsync();
        var queue = "reply_never_" + Guid.NewGuid().ToString("N");

        await raw.PublishAsync(rig.Topic, Encoding.UTF8.GetBytes(Envelope("2.0", Request("add", queue))));
        var abandoned = await rig.Logs.WaitForAsync(e => e.EventId.Id == ReplyAbandonedEvent, TimeSpan.FromSeconds(15));
        Assert.That(abandoned.Message, Does.Contain(queue).And.Contain("after 2 seconds"));
        await raw.PublishAsync(rig.Topic, Encoding.UTF8.GetBytes(Envelope("2.0", Request("add", queue))));
        var dropped = await rig.Logs.WaitForAsync(e => e.EventId.Id == 4114, TimeSpan.FromSeconds(15));

        Assert.That(dropped.Message, Does.StartWith($"{queue} doesn't exist, drop reply to"));
        Assert.That(rig.Server.RepliesWaitingForQueue, Is.Zero);
    }
}
