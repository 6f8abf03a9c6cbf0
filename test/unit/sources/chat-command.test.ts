import { describe, expect, it } from 'vitest';
import { decodeEntities, parseChatCommand, teamsCommandText } from '../../../src/sources/chat-command.js';

const id =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1';

describe('parseChatCommand', () => {
  it('reads approve with a reason', () => {
    expect(parseChatCommand(`approve ${id} CHG0031234 looks good`)).toEqual({
      kind: 'decide',
      decision: 'Approved',
      connectionId: id,
      reason: 'CHG0031234 looks good',
    });
  });
  it('reads reject without a reason, case-insensitively and with extra spaces', () => {
    expect(parseChatCommand(`  REJECT   ${id} `)).toEqual({
      kind: 'decide',
      decision: 'Rejected',
      connectionId: id,
    });
  });
  it('reads status and help', () => {
    expect(parseChatCommand(`status ${id}`)).toEqual({ kind: 'status', connectionId: id });
    expect(parseChatCommand('help')).toEqual({ kind: 'help' });
    expect(parseChatCommand('   ')).toEqual({ kind: 'help' });
  });
  it.each([['delete x'], ['approve'], [`status ${id} extra`]])('refuses %s with a message', (text) => {
    const command = parseChatCommand(text);
    expect(command.kind).toBe('invalid');
  });
});

describe('teamsCommandText', () => {
  it('strips the mention and markup, decodes entities', () => {
    expect(teamsCommandText(`<at>Approver</at>&nbsp;approve ${id} ok &amp; done\n`)).toBe(
      `approve ${id} ok & done`,
    );
  });
  it('keeps the text of links Teams adds', () => {
    expect(teamsCommandText(`<at>Bot</at> status <a href="x">${id}</a>`)).toBe(`status ${id}`);
  });
  it('decodes numeric entities, decimal and hexadecimal', () => {
    expect(decodeEntities('a&#47;b')).toBe('a/b');
    expect(decodeEntities('it&#x27;s &#X2F; &#x10FFFF; &#99999999;')).toBe("it's / \u{10FFFF} &#99999999;");
    // What would not show (a control character, a lone surrogate) stays as written.
    expect(decodeEntities('a&#0;b&#x1;c&#xD800;d&#127;')).toBe('a&#0;b&#x1;c&#xD800;d&#127;');
  });
  it('strips a mention written with attributes, as bot messages carry it', () => {
    expect(teamsCommandText(`<at id="0">Approver Bot</at> status ${id}`)).toBe(`status ${id}`);
  });
});
