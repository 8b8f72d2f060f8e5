package org.elasticsearch.node;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

/**
 * A node whose plugins are classes on our classpath rather than bundles under plugins/.
 *
 * <p>It lives in the server's package because {@code NodeConstruction} and
 * {@code NodeServiceProvider} are package-private; split packages are allowed on the classpath.
 */
public final class LocalNode extends Node {

    public LocalNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(
            environment, emptyLoader(), new ClasspathServices(List.copyOf(plugins)), true));
    }

    /** No plugin or module bundles on disk: the plugins we want come from the classpath. */
    private static PluginsLoader emptyLoader() {
        // No server module exports: on the classpath the server is an unnamed module.
        return PluginsLoader.createPluginsLoader(Set.of(), Set.of(), Map.of(), false);
    }

    /** Swaps in our plugins service; every other service is the server's own. */
    private static final class ClasspathServices extends NodeServiceProvider {
        private final List<Class<? extends Plugin>> plugins;

        ClasspathServices(List<Class<? extends Plugin>> plugins) {
            this.plugins = plugins;
        }

        @Override
        PluginsService newPluginService(Environment environment, PluginsLoader loader) {
            return new ClasspathPluginsService(
                environment.settings(), environment.configDir(), loader, plugins);
        }
    }
}
