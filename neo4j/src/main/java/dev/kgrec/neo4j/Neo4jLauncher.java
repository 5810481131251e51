package dev.kgrec.neo4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.neo4j.cli.ExecutionContext;
import org.neo4j.commandline.admin.security.SetInitialPasswordCommand;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;
import picocli.CommandLine;

/**
 * A Neo4j 5 community DBMS speaking Bolt (with authentication) on 127.0.0.1 only.
 *
 * <p>Usage: {@code Neo4jLauncher HOME PORT [PAGECACHE]}, password in env {@code NEO4J_PASSWORD}.
 * Everything (databases, transaction logs, debug.log, security.log) lives under HOME; the user
 * log goes to stdout. Prints one line starting with {@code kgrec-neo4j ready} once Bolt accepts
 * connections and the password of user {@code neo4j} is set. SIGTERM shuts the DBMS down cleanly.
 */
public final class Neo4jLauncher {
    private static final String HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            fail("usage: Neo4jLauncher HOME PORT [PAGECACHE]  (password in env NEO4J_PASSWORD)");
        }
        long t0 = System.nanoTime();
        Path home = Path.of(args[0]).toAbsolutePath().normalize();
        int port = Integer.parseInt(args[1]);
        String pagecache = args.length > 2 ? args[2] : "256m";
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.isEmpty()) {
            fail("NEO4J_PASSWORD is not set");
        }
        Files.createDirectories(home);

        // First start: the system database does not exist yet, so the user neo4j is created from
        // data/dbms/auth.ini, which set-initial-password writes. Bolt never sees the default
        // password neo4j/neo4j. On later starts the password is re-set below if it changed.
        boolean fresh = !Files.exists(home.resolve("data/databases/system"));
        if (fresh) {
            var ctx = new ExecutionContext(home, home.resolve("conf"));
            int rc = new CommandLine(new SetInitialPasswordCommand(ctx)).execute(password);
            if (rc != 0) {
                fail("could not set the initial password (at least 8 characters are required)");
            }
        }

        var userLog = new Log4jLogProvider(System.out, Level.INFO);
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setUserLogProvider(userLog)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(HOST, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(HOST, port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.routing_enabled, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, parseBytes(pagecache))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "100M size")
                // Bolt waits 2 x 5 s for Netty after the databases are already checkpointed and
                // closed; nothing is left to flush, so stop at once.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("kgrec-neo4j stopping");
            dbms.shutdown();
            System.out.println("kgrec-neo4j stopped");
            System.out.flush();
        }, "kgrec-neo4j-shutdown"));

        try {
            announce(dbms, fresh, password, port, home, t0);
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1); // runs the shutdown hook
        }
        Thread.currentThread().join(); // the shutdown hook ends the process
    }

    private static void announce(DatabaseManagementService dbms, boolean fresh, String password,
                                 int port, Path home, long t0) throws java.io.IOException {
        var system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        if (fresh) {
            Files.deleteIfExists(home.resolve("data/dbms/auth.ini")); // consumed by now
        } else {
            try {
                system.executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $p CHANGE NOT REQUIRED", Map.of("p", password));
                System.out.println("kgrec-neo4j: password of user neo4j set from NEO4J_PASSWORD");
            } catch (RuntimeException e) {
                // "Old password and new password cannot be the same": nothing to change.
                if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                    throw e;
                }
            }
        }
        String version = system.executeTransactionally(
                "CALL dbms.components() YIELD versions RETURN versions[0] AS v",
                Map.of(), r -> String.valueOf(r.next().get("v")));
        System.out.printf("kgrec-neo4j ready: bolt://%s:%d Neo4j %s community, home %s, %.1f s%n",
                HOST, port, version, home, (System.nanoTime() - t0) / 1e9);
        System.out.flush();
    }

    private static long parseBytes(String s) {
        String t = s.trim().toLowerCase();
        long unit = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            default -> 1L;
        };
        return Long.parseLong(unit == 1L ? t : t.substring(0, t.length() - 1)) * unit;
    }

    private static void fail(String message) {
        System.err.println("kgrec-neo4j: " + message);
        System.exit(2);
    }
}
