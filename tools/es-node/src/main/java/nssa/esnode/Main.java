package nssa.esnode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.transport.TransportAddress;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.LocalNode;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

/**
 * Starts one Elasticsearch node on loopback for tests and development.
 *
 * <p>Usage: {@code Main HOME HTTP_PORTS PORT_FILE}. HOME holds data and logs; HTTP_PORTS is a
 * port or a range (the first free one is taken); once the node serves HTTP its port is written
 * to PORT_FILE. SIGTERM closes the node cleanly.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Main HOME HTTP_PORTS PORT_FILE");
            System.exit(64);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path portFile = Path.of(args[2]).toAbsolutePath();
        Files.createDirectories(home.resolve("config"));
        Settings settings = settings(home, args[1]);
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);
        // Lucene's vectorisation probe logs through java.util.logging at INFO; it is noise here.
        java.util.logging.Logger.getLogger("").setLevel(Level.SEVERE);

        Node node = new LocalNode(new Environment(settings, home.resolve("config")), List.of(Netty4Plugin.class));
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> close(node, closed), "es-node-shutdown"));
        node.start();
        writePort(node, portFile);
        closed.await();
    }

    private static Settings settings(Path home, String httpPorts) {
        return Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "nssa-dev")
            .put("node.name", "nssa-dev-node")
            // Loopback only: tests and development never expose the node.
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPorts)
            .put("transport.port", "9700-9799")
            .put("discovery.type", "single-node")
            .put("node.processors", Math.min(2, Runtime.getRuntime().availableProcessors()))
            // With a small heap the real-memory parent breaker trips on ordinary bulk requests.
            .put("indices.breaker.total.use_real_memory", false)
            // Build machines' disks can be nearly full; shards must still be allocated.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // Tests delete their indices by wildcard.
            .put("action.destructive_requires_name", false)
            .build();
    }

    /** Publish the bound HTTP port atomically, so a reader never sees a half-written file. */
    private static void writePort(Node node, Path portFile) throws Exception {
        TransportAddress address = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
        Path partial = portFile.resolveSibling(portFile.getFileName() + ".partial");
        Files.writeString(partial, address.getPort() + "\n", StandardCharsets.US_ASCII);
        Files.move(partial, portFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void close(Node node, CountDownLatch closed) {
        try {
            node.close();
            node.awaitClose(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("es-node: close failed: " + e);
        } finally {
            closed.countDown();
        }
    }
}
