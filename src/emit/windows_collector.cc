// The Windows collector script: see emit/windows_script.h. Its output's fields are the ones
// host/windows_parse.cc reads (docs/windows.md describes each); it takes no input of berth's,
// so it holds no untrusted text.
#include "emit/windows_script.h"

namespace berth {

void RenderWindowsCollector(const Sink& sink) {
  sink(R"PS(# berth collector for Windows hosts (berth collect --format powershell; docs/windows.md).
# Reads only; changes nothing. Windows PowerShell 5.1 or PowerShell 7; no extra modules.
# Run it elevated (Run as Administrator) so that the owner of every socket can be read:
#   powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\berth-collect.ps1 -Path .\host.json
# then, where berth runs: berth scan --from host.json
# The output is one JSON document (schema berth.windows/1), UTF-8 with -Path; without -Path
# it goes to the output stream (Windows PowerShell's '>' then writes UTF-16LE, which berth
# also reads).
[CmdletBinding()]
param(
  [string]$Path = ''
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$warnings = New-Object -TypeName 'System.Collections.Generic.List[string]'

# Runs one part of the collection; a part that fails becomes a warning, not a failure.
function Invoke-BerthPart {
  param([string]$What, [scriptblock]$Body)
  try {
    return ,@(& $Body)
  } catch {
    $warnings.Add(('{0}: {1}' -f $What, $_.Exception.Message))
    return ,@()
  }
}

# A property's value, or $null when the object or the property is missing (StrictMode-safe).
function Get-BerthValue {
  param($Object, [string]$Name)
  if ($null -eq $Object) { return $null }
  $property = $Object.PSObject.Properties[$Name]
  if ($null -eq $property) { return $null }
  return $property.Value
}

$tcp = Invoke-BerthPart 'Get-NetTCPConnection' {
  Get-NetTCPConnection -State Listen -ErrorAction SilentlyContinue | ForEach-Object {
    [pscustomobject]@{
      LocalAddress  = [string]$_.LocalAddress
      LocalPort     = [int]$_.LocalPort
      OwningProcess = [int]$_.OwningProcess
      State         = $_.State
    }
  }
}
$udp = Invoke-BerthPart 'Get-NetUDPEndpoint' {
  Get-NetUDPEndpoint -ErrorAction SilentlyContinue | ForEach-Object {
    [pscustomobject]@{
      LocalAddress  = [string]$_.LocalAddress
      LocalPort     = [int]$_.LocalPort
      OwningProcess = [int]$_.OwningProcess
    }
  }
}
$owners = @(@($tcp) + @($udp) | ForEach-Object { $_.OwningProcess } | Sort-Object -Unique)
$processes = Invoke-BerthPart 'Get-Process' {
  if ($owners.Count -gt 0) {
    Get-Process -Id $owners -ErrorAction SilentlyContinue | ForEach-Object {
      [pscustomobject]@{ Id = [int]$_.Id; ProcessName = [string]$_.ProcessName }
    }
  }
}
# One svchost hosts many services: Win32_Service.ProcessId names them all.
$services = Invoke-BerthPart 'Win32_Service' {
  Get-CimInstance -ClassName Win32_Service -Filter 'ProcessId <> 0' | ForEach-Object {
    [pscustomobject]@{ Name = [string]$_.Name; ProcessId = [int]$_.ProcessId; State = [string]$_.State }
  }
}
$dynamic = Invoke-BerthPart 'netsh show dynamicport' {
  foreach ($family in 'ipv4', 'ipv6') {
    foreach ($proto in 'tcp', 'udp') {
      $text = @(& netsh.exe int $family show dynamicport $proto) -join ' '
      $numbers = [regex]::Matches($text, '\d+')
      if ($numbers.Count -ge 2) {
        [pscustomobject]@{
          Family        = $family
          Protocol      = $proto
          StartPort     = [int]$numbers[0].Value
          NumberOfPorts = [int]$numbers[1].Value
        }
      } else {
        $warnings.Add(('netsh int {0} show dynamicport {1}: no range in its answer' -f $family, $proto))
      }
    }
  }
}
$excluded = Invoke-BerthPart 'netsh show excludedportrange' {
  foreach ($family in 'ipv4', 'ipv6') {
    foreach ($proto in 'tcp', 'udp') {
      foreach ($line in @(& netsh.exe int $family show excludedportrange ('protocol={0}' -f $proto))) {
        if ($line -match '^\s*(\d+)\s+(\d+)\s*(\*?)\s*$') {
          [pscustomobject]@{
            Family       = $family
            Protocol     = $proto
            StartPort    = [int]$Matches[1]
            EndPort      = [int]$Matches[2]
            Administered = ($Matches[3] -eq '*')
          }
        }
      }
    }
  }
}
$sql = Invoke-BerthPart 'SQL Server instances' {
  $sqlRoot = 'HKLM:\SOFTWARE\Microsoft\Microsoft SQL Server'
  $names = Get-ItemProperty -LiteralPath ($sqlRoot + '\Instance Names\SQL') -ErrorAction SilentlyContinue
  if ($null -ne $names) {
    foreach ($entry in $names.PSObject.Properties) {
      if (@('PSPath', 'PSParentPath', 'PSChildName', 'PSDrive', 'PSProvider') -contains $entry.Name) { continue }
      $id = [string]$entry.Value
      $tcpKey = $sqlRoot + '\' + $id + '\MSSQLServer\SuperSocketNetLib\Tcp'
      $tcpProps = Get-ItemProperty -LiteralPath $tcpKey -ErrorAction SilentlyContinue
      $ipAll = Get-ItemProperty -LiteralPath ($tcpKey + '\IPAll') -ErrorAction SilentlyContinue
      [pscustomobject]@{
        Name            = [string]$entry.Name
        Id              = $id
        TcpPort         = Get-BerthValue $ipAll 'TcpPort'
        TcpDynamicPorts = Get-BerthValue $ipAll 'TcpDynamicPorts'
        TcpEnabled      = Get-BerthValue $tcpProps 'Enabled'
      }
    }
  }
}
$rpc = $null
try {
  $rpcKey = Get-Item -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Rpc\Internet' -ErrorAction SilentlyContinue
  if ($null -ne $rpcKey) {
    $rpc = [pscustomobject]@{
      Ports                  = @($rpcKey.GetValue('Ports', @()))
      PortsInternetAvailable = $rpcKey.GetValue('PortsInternetAvailable', $null)
      UseInternetPorts       = $rpcKey.GetValue('UseInternetPorts', $null)
    }
  }
} catch {
  $warnings.Add(('Rpc\Internet: {0}' -f $_.Exception.Message))
}
# Only the rules that name local ports by number (ranges such as 49152-65535 among them).
$firewall = Invoke-BerthPart 'firewall rules' {
  $filters = @{}
  foreach ($filter in @(Get-NetFirewallPortFilter -All -PolicyStore ActiveStore)) {
    if ((@($filter.LocalPort) -join ',') -match '\d') { $filters[[string]$filter.InstanceID] = $filter }
  }
  foreach ($rule in @(Get-NetFirewallRule -PolicyStore ActiveStore)) {
    $filter = $filters[[string]$rule.Name]
    if ($null -eq $filter) { continue }
    [pscustomobject]@{
      Name        = [string]$rule.Name
      DisplayName = [string]$rule.DisplayName
      Enabled     = $rule.Enabled
      Direction   = $rule.Direction
      Action      = $rule.Action
      Protocol    = [string]$filter.Protocol
      LocalPort   = @($filter.LocalPort)
    }
  }
}

$doc = [ordered]@{
  Schema             = 'berth.windows/1'
  ComputerName       = [string]$env:COMPUTERNAME
  Collected          = [DateTime]::UtcNow
  PSVersion          = [string]$PSVersionTable.PSVersion
  TcpListeners       = $tcp
  UdpEndpoints       = $udp
  Processes          = $processes
  Services           = $services
  DynamicPortRanges  = $dynamic
  ExcludedPortRanges = $excluded
  SqlInstances       = $sql
  RpcInternet        = $rpc
  FirewallRules      = $firewall
  Warnings           = @($warnings)
}
$json = ConvertTo-Json -InputObject $doc -Depth 8 -Compress
if ($Path -ne '') {
  $full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
  [System.IO.File]::WriteAllText($full, $json, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
  Write-Host ('berth: wrote {0}: {1} TCP listeners, {2} UDP endpoints, {3} warnings' -f $full, $tcp.Count, $udp.Count, $warnings.Count)
} else {
  Write-Output $json
}
)PS");
}

}  // namespace berth
