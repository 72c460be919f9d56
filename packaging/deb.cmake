# The Debian package, by CPack's DEB generator from the install rules above (docs/install.md
# says why CPack and not dpkg-buildpackage). `make deb` builds it from a Release build with
# Debian's hardening flags; the package tests (tests/packaging) build it from their own tree.
set(BERTH_DEB_VERSION ${PROJECT_VERSION} CACHE STRING "the package's version (default: the project's)")
set(BERTH_DEB_MAINTAINER "berth maintainers <maintainers@users.noreply.r-seed-d1fc232a.example>"
    CACHE STRING "the package's Maintainer")

# /usr/share/doc/berth/changelog.gz: a native package's changelog, naming this version.
string(TIMESTAMP BERTH_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # honours SOURCE_DATE_EPOCH
configure_file(${PROJECT_SOURCE_DIR}/packaging/deb/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  COMMAND gzip -9nf -k ${CMAKE_BINARY_DIR}/packaging/changelog
  DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog)
add_custom_target(deb-changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME berth)
set(CPACK_PACKAGE_VERSION ${BERTH_DEB_VERSION})
set(CPACK_PACKAGE_CONTACT ${BERTH_DEB_MAINTAINER})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/deb)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Components "berth" and "deb-units"; /var/lib/berth is made by postinst (install.cmake).
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};berth;berth;/;${CMAKE_BINARY_DIR};berth;deb-units;/")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # berth_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_VERSION ${BERTH_DEB_VERSION})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")  # postinst; merged with the shlibdeps
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nftables | iptables")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "keep server applications on fixed, documented ports")
set(CPACK_PACKAGE_DESCRIPTION
"berth audits every socket on a host (who listens where, inside the ephemeral
range or not), asks remote port mappers which services sit on dynamic ports,
and keeps a registry that gives every service a static port which never
collides. From the registry it writes firewall rules that open exactly those
ports, kernel port reservations (ip_local_reserved_ports), and Kubernetes,
Compose, Consul, Prometheus and /etc/services exports.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
