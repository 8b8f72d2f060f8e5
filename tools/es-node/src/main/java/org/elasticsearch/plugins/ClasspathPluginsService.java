package org.elasticsearch.plugins;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import org.elasticsearch.Version;
import org.elasticsearch.common.settings.Settings;

/**
 * Plugins instantiated from classes already on the classpath (here: the Netty HTTP transport).
 *
 * <p>In the server's package because {@code loadPlugin}, {@code loadExtensions} and
 * {@code LoadedPlugin} are package-private.
 */
public final class ClasspathPluginsService extends PluginsService {
    private final List<LoadedPlugin> loaded;

    public ClasspathPluginsService(
        Settings settings,
        Path configDir,
        PluginsLoader loader,
        Collection<Class<? extends Plugin>> classes
    ) {
        super(settings, configDir, loader);
        List<LoadedPlugin> plugins = new ArrayList<>();
        ClassLoader classLoader = Thread.currentThread().getContextClassLoader();
        for (Class<? extends Plugin> cls : classes) {
            Plugin instance = loadPlugin(cls, settings, configDir);
            plugins.add(new LoadedPlugin(describe(cls), instance, classLoader));
        }
        loadExtensions(plugins);
        this.loaded = List.copyOf(plugins);
    }

    /** The descriptor a plugin-descriptor.properties file would have given. */
    private static PluginDescriptor describe(Class<? extends Plugin> cls) {
        return new PluginDescriptor(
            cls.getName(),
            "classpath plugin",
            Version.CURRENT.toString(),
            Version.CURRENT.toString(),
            Runtime.version().feature() + "",
            cls.getName(),
            null,
            List.of(),
            false,
            false,
            false,
            false,
            PluginDescriptor.DeploymentTarget.ALL
        );
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return loaded;
    }
}
