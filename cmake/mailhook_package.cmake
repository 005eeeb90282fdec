# The Debian package of everything mailhook_install.cmake installs (docs/package.md):
#   cpack --config build/<preset>/CPackConfig.cmake -G DEB -B <dir>
# gives <dir>/mailhook_<version>_<arch>.deb, installing under /usr: the daemon, the lookup
# library with its headers and package files, the systemd unit. dpkg-shlibdeps (dpkg-dev)
# computes Depends from the binaries; postinst creates the mailhook system user the unit
# runs as.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mailhook)
set(CPACK_PACKAGE_VENDOR mailhook)
set(CPACK_PACKAGE_CONTACT "mailhook maintainers <mailhook@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "SendGrid webhooks into Kafka, a suppression index and a sender")
set(CPACK_PACKAGE_DESCRIPTION
    "mailhook ingests SendGrid's signed Event Webhooks into Kafka, keeps a RocksDB index of
suppressed addresses, sends through the Mail Send API, and ships libmailhook_lookup, the
suppression lookup send workers link (with its headers, CMake package and pkg-config file).")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
# Under /usr whatever CMAKE_INSTALL_PREFIX the build tree has: the DEB generator installs
# with DESTDIR and CMAKE_INSTALL_PREFIX=/usr, so the unit's install code names
# /usr/bin/mailhook (the test debian_package checks it).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # mailhook_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # DEBIAN/shlibs for libmailhook_lookup.so.0
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")  # postinst; the rest comes from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
