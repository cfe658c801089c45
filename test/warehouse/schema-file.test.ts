import { describe, expect, it } from 'vitest';
import { normaliseSchemaDump } from '../../src/warehouse/schema-file.js';

/** How a dump is normalised into src/warehouse/schema.sql; schema-file.e2e.test.ts checks the file against the migrations. */
describe('the schema file', () => {
  it('normalising a dump leaves out what changes with who made it, when and with which minor version; keeps the rest', () => {
    const dump = [
      '--',
      '-- PostgreSQL database dump',
      '--',
      '',
      '\\restrict 74dpUhAcmd78ugfyO1IQpMI2aIe86kl',
      '',
      '-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)',
      '-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)',
      '',
      'SET statement_timeout = 0;',
      "SET client_encoding = 'UTF8';",
      "SELECT pg_catalog.set_config('search_path', '', false);",
      '',
      '--',
      '-- Name: f(); Type: FUNCTION; Schema: public; Owner: -',
      '--',
      '',
      'CREATE FUNCTION public.f() RETURNS text',
      '    LANGUAGE sql',
      "    SET search_path TO 'pg_catalog', 'public'",
      '    AS $$',
      "    select 'fx_owner'",
      '$$;',
      '',
      '',
      "SET default_tablespace = '';",
      '',
      'SET default_table_access_method = heap;',
      '',
      '--',
      '-- Name: FUNCTION f(); Type: ACL; Schema: public; Owner: -',
      '--',
      '',
      'REVOKE ALL ON FUNCTION public.f() FROM PUBLIC;',
      'GRANT ALL ON FUNCTION pg_catalog.pg_advisory_lock(bigint) TO fx_owner;',
      'ALTER DEFAULT PRIVILEGES FOR ROLE fx_owner REVOKE ALL ON FUNCTIONS  FROM PUBLIC;',
      '',
      '',
      '--',
      '-- PostgreSQL database dump complete',
      '--',
      '',
      '\\unrestrict 74dpUhAcmd78ugfyO1IQpMI2aIe86kl',
      '',
    ].join('\n');
    const expected = [
      '--',
      '-- Name: f(); Type: FUNCTION; Schema: public; Owner: -',
      '--',
      '',
      'CREATE FUNCTION public.f() RETURNS text',
      '    LANGUAGE sql',
      "    SET search_path TO 'pg_catalog', 'public'",
      '    AS $$',
      "    select 'fx_owner'",
      '$$;',
      '',
      '',
      '--',
      '-- Name: FUNCTION f(); Type: ACL; Schema: public; Owner: -',
      '--',
      '',
      'REVOKE ALL ON FUNCTION public.f() FROM PUBLIC;',
      'GRANT ALL ON FUNCTION pg_catalog.pg_advisory_lock(bigint) TO CURRENT_USER;',
      'ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER REVOKE ALL ON FUNCTIONS  FROM PUBLIC;',
      '',
    ].join('\n');
    expect(normaliseSchemaDump(dump, 'fx_owner')).toBe(expected);
    expect(normaliseSchemaDump(dump.replaceAll('\n', '\r\n'), 'fx_owner')).toBe(expected);
    expect(normaliseSchemaDump(expected, 'fx_owner')).toBe(expected);
  });
});
