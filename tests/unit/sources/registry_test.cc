#include "sources/registry.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace depot {
namespace {

TEST(Registry, ListsEveryRegistryOnceInNameOrder) {
  std::vector<std::string> names;
  for (const RegistryDescriptor* r : registries()) names.push_back(r->name);
  EXPECT_EQ(names, (std::vector<std::string>{"apt", "conda", "crates", "npm", "opam", "pypi",
                                             "rustup", "yum"}));
  EXPECT_EQ(find_registry("yum"), registries().back());
  EXPECT_EQ(find_registry("nope"), nullptr);
}

TEST(Registry, OnlyRegistriesWithAFactoryAreMirrorable) {
  EXPECT_EQ(source_names(), (std::vector<std::string>{"apt", "conda", "crates", "npm", "opam",
                                                      "pypi", "rustup", "yum"}));
  auto nope = make_source("nope", SourceOptions{});
  ASSERT_FALSE(nope.ok());
  EXPECT_NE(nope.error().message.find("known: apt, conda, crates, npm, opam, pypi, rustup, yum"),
            std::string::npos)
      << nope.error().message;
}

// cli/ makes one command-line option per flag; registries sharing a flag must mean one kind of
// argument by it. Every option has a flag, a key and help; a registry declares a flag once.
TEST(Registry, OptionsAreWellFormedAndSharedFlagsAgreeOnTheirKind) {
  std::map<std::string, RegistryOption::Kind> kinds;
  for (const RegistryDescriptor* r : registries()) {
    std::set<std::string> own;
    EXPECT_FALSE(r->upstream_help.empty()) << r->name;
    for (const RegistryOption& o : r->options) {
      EXPECT_TRUE(o.flag.starts_with("--")) << r->name << " " << o.flag;
      EXPECT_FALSE(o.key.empty()) << r->name << " " << o.flag;
      EXPECT_FALSE(o.help.empty()) << r->name << " " << o.flag;
      EXPECT_TRUE(own.insert(o.flag).second) << r->name << " declares " << o.flag << " twice";
      auto [it, fresh] = kinds.emplace(o.flag, o.kind);
      EXPECT_TRUE(fresh || it->second == o.kind) << o.flag << " means two kinds of argument";
    }
  }
}

// A root's siblings are roots of the same registry in the same directory.
TEST(Registry, EveryRootNameIsARootOfItsRegistry) {
  const std::map<std::string, std::string> dir_of = {
      {"apt", "debian/dists/stable/"}, {"opam", "opam/"}, {"yum", "el9/repodata/"}};
  for (const RegistryDescriptor* r : registries()) {
    if (r->paths.root_names.empty()) {
      EXPECT_FALSE(r->paths.is_root) << r->name;
      continue;
    }
    ASSERT_TRUE(dir_of.count(r->name)) << "add a directory for " << r->name;
    for (std::string_view name : r->paths.root_names) {
      std::string rel = dir_of.at(r->name) + std::string(name);
      auto parts = split_path(rel);
      EXPECT_TRUE(r->paths.is_root(parts)) << rel;
      EXPECT_FALSE(r->paths.is_blob && r->paths.is_blob(parts)) << rel;
    }
  }
}

TEST(Registry, PathHelpers) {
  EXPECT_EQ(split_path("/a//b/c"), (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_TRUE(split_path("").empty());
  auto parts = split_path("x/pool/y/z.deb");
  EXPECT_TRUE(has_ancestor(parts, "pool"));
  EXPECT_FALSE(has_ancestor(parts, "z.deb"));  // the file itself is no ancestor
  EXPECT_EQ(parent_name(parts), "y");
  EXPECT_EQ(parent_name(split_path("top")), "");
  EXPECT_TRUE(all_hex("09afAF"));
  EXPECT_FALSE(all_hex(""));
  EXPECT_FALSE(all_hex("0g"));
  EXPECT_TRUE(ends_with_any("a.tar.gz", {".zip", ".gz"}));
  EXPECT_FALSE(ends_with_any("a.tar", {".zip", ".gz"}));
}

TEST(Registry, DropDashFields) {
  EXPECT_EQ(drop_dash_fields("a-b-1.0-2", 2), "a-b");
  EXPECT_EQ(drop_dash_fields("a-1.0-2", 2), "a");
  EXPECT_EQ(drop_dash_fields("1.0-2", 2), "");
  EXPECT_EQ(drop_dash_fields("-1.0-2", 2), "");
  EXPECT_EQ(drop_dash_fields("name-1.0", 1), "name");
  EXPECT_EQ(drop_dash_fields("", 1), "");
}

// What usage-driven prefetch counts a file as: its registry's package.
TEST(Registry, PackageNames) {
  auto name = [](std::string_view registry, std::string_view file) {
    return find_registry(registry)->paths.package_name(file).value_or("<none>");
  };
  EXPECT_EQ(name("apt", "hello_2.10-3_amd64.deb"), "hello");
  EXPECT_EQ(name("apt", "libc6-udeb_2.36-9_amd64.udeb"), "libc6-udeb");
  EXPECT_EQ(name("apt", "_1.0_all.deb"), "<none>");
  EXPECT_EQ(name("apt", "hello_2.10.dsc"), "<none>");
  EXPECT_EQ(name("yum", "python3-libs-3.12.1-2.fc39.x86_64.rpm"), "python3-libs");
  EXPECT_EQ(name("yum", "bash-5.2-1.src.rpm"), "bash");
  EXPECT_EQ(name("yum", "norelease.x86_64.rpm"), "<none>");
  EXPECT_EQ(name("conda", "numpy-base-1.26.0-py311h_0.conda"), "numpy-base");
  EXPECT_EQ(name("conda", "zlib-1.3-h0_1.tar.bz2"), "zlib");
  EXPECT_EQ(name("conda", "repodata.json"), "<none>");
  EXPECT_EQ(name("pypi", "Typing_Extensions-4.9.0-py3-none-any.whl"), "typing-extensions");
  EXPECT_EQ(name("pypi", "zope.interface-6.1.tar.gz"), "zope-interface");
  EXPECT_EQ(name("pypi", "noversion.zip"), "<none>");
}

}  // namespace
}  // namespace depot
